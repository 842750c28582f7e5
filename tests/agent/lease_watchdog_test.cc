// The watchdog against real process groups, with short leases.
#include "agent/lease_watchdog.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace cadre::agent {
namespace {

using namespace std::chrono_literals;
using Clock = LeaseWatchdog::Clock;

constexpr auto kLease = 300ms;

// A child leading its own process group, as a replica does: a shell with a
// background sleep, so the group has more than one member.
pid_t start_group() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execlp("sh", "sh", "-c", "sleep 30 & exec sleep 30", static_cast<char*>(nullptr));
    ::_exit(126);
  }
  ::setpgid(pid, pid);
  return pid;
}

// Waits up to `timeout` for our child `pid` to end; its wait status, or nullopt.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  do {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(5ms);
  } while (Clock::now() < deadline);
  return std::nullopt;
}

void stop(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

std::unique_ptr<LeaseWatchdog> make_watchdog() {
  LeaseWatchdogOptions options;
  options.poll = 20ms;
  auto watchdog = LeaseWatchdog::Create(options);
  EXPECT_OK(watchdog);
  return watchdog.ok() ? std::move(*watchdog) : nullptr;
}

TEST(LeaseWatchdog, KillsAListedGroupOnceTheLeasePassesAndNotBefore) {
  auto watchdog = make_watchdog();
  ASSERT_NE(watchdog, nullptr);
  const pid_t group = start_group();
  ASSERT_OK(watchdog->add(group));
  const auto start = Clock::now();
  watchdog->reset(start + kLease);

  EXPECT_FALSE(wait_for(group, kLease - 100ms).has_value()) << "killed before the lease passed";
  auto status = wait_for(group, 1s);
  const auto died = Clock::now() - start;
  ASSERT_TRUE(status.has_value()) << "still alive well after the lease passed";
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
  EXPECT_GE(died, kLease);
  EXPECT_TRUE(watchdog->expired(Clock::now()));
  EXPECT_EQ(watchdog->expirations(), 1u);
  watchdog->remove(group);
}

TEST(LeaseWatchdog, DoesNothingWhileTheLeaseIsRenewed) {
  auto watchdog = make_watchdog();
  ASSERT_NE(watchdog, nullptr);
  const pid_t group = start_group();
  ASSERT_OK(watchdog->add(group));
  watchdog->reset(Clock::now() + kLease);
  // Four leases long, renewed every 100 ms as acks would.
  for (int i = 0; i < 12; ++i) {
    EXPECT_FALSE(wait_for(group, 100ms).has_value()) << "killed at renewal " << i;
    EXPECT_TRUE(watchdog->extend(Clock::now() + kLease));
  }
  EXPECT_FALSE(watchdog->expired(Clock::now()));
  EXPECT_EQ(watchdog->expirations(), 0u);
  watchdog->remove(group);
  stop(group);
}

TEST(LeaseWatchdog, SparesGroupsNoLongerListedAndKillsNothingWithoutALease) {
  auto watchdog = make_watchdog();
  ASSERT_NE(watchdog, nullptr);
  const pid_t listed = start_group();
  const pid_t unlisted = start_group();
  ASSERT_OK(watchdog->add(listed));
  ASSERT_OK(watchdog->add(unlisted));
  watchdog->remove(unlisted);

  watchdog->reset(std::nullopt);
  EXPECT_FALSE(wait_for(listed, 2 * kLease).has_value()) << "killed without a lease";

  watchdog->reset(Clock::now() + 50ms);
  EXPECT_TRUE(wait_for(listed, 1s).has_value());
  EXPECT_FALSE(wait_for(unlisted, 200ms).has_value()) << "killed a group that was removed";
  watchdog->remove(listed);
  stop(unlisted);
}

TEST(LeaseWatchdog, AnExpiredLeaseCannotBeExtendedOnlyReset) {
  auto watchdog = make_watchdog();
  ASSERT_NE(watchdog, nullptr);
  watchdog->reset(Clock::now() + 20ms);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(watchdog->extend(Clock::now() + 10s));
  EXPECT_TRUE(watchdog->expired(Clock::now()));
  watchdog->reset(Clock::now() + 10s);
  EXPECT_FALSE(watchdog->expired(Clock::now()));
  EXPECT_TRUE(watchdog->extend(Clock::now() + 20s));
}

TEST(LeaseWatchdog, KeepsNoneOfTheAgentsDescriptorsOpen) {
  // Like a socket of the agent's: not close-on-exec, open when the watchdog forks.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto watchdog = make_watchdog();
  ASSERT_NE(watchdog, nullptr);
  ::close(fds[1]);
  // End of file only if no other process still holds the write end.
  pollfd item{fds[0], POLLIN, 0};
  ASSERT_EQ(::poll(&item, 1, 2000), 1) << "the watchdog holds the pipe open";
  char byte;
  EXPECT_EQ(::read(fds[0], &byte, 1), 0);
  ::close(fds[0]);
}

TEST(LeaseWatchdog, KillsTheListedGroupsWhenTheAgentDies) {
  // Orphans come to this process, so the test can reap the replica and watchdog.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t agent = ::fork();
  if (agent == 0) {
    // A stand-in agent: a watchdog with no lease and one listed replica.
    auto watchdog = LeaseWatchdog::Create({});
    const pid_t group = start_group();
    if (!watchdog.ok() || !(*watchdog)->add(group).ok()) ::_exit(1);
    const pid_t pids[2] = {group, (*watchdog)->pid()};
    if (::write(fds[1], pids, sizeof(pids)) != sizeof(pids)) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t pids[2] = {};
  ASSERT_EQ(::read(fds[0], pids, sizeof(pids)), static_cast<ssize_t>(sizeof(pids)));
  ::close(fds[0]);
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(::kill(pids[0], 0), 0) << "the replica died while its agent lived";

  ::kill(agent, SIGKILL);
  ::waitpid(agent, nullptr, 0);
  auto replica = wait_for(pids[0], 2s);
  auto watchdog = wait_for(pids[1], 2s);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_TRUE(replica.has_value()) << "the replica outlived its agent";
  EXPECT_TRUE(WIFSIGNALED(*replica) && WTERMSIG(*replica) == SIGKILL);
  EXPECT_TRUE(watchdog.has_value()) << "the watchdog outlived its agent";
  // The rest of the replica's group (the background sleep) is ours to reap too.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

TEST(LeaseWatchdog, StartsAnotherWatchdogWhenItsProcessDies) {
  auto watchdog = make_watchdog();
  ASSERT_NE(watchdog, nullptr);
  const pid_t first = watchdog->pid();
  auto restarted = watchdog->ensure_running();
  ASSERT_OK(restarted);
  EXPECT_FALSE(*restarted);

  ::kill(first, SIGKILL);
  bool again = false;
  for (int i = 0; i < 100 && !again; ++i) {
    auto result = watchdog->ensure_running();
    ASSERT_OK(result);
    again = *result;
    if (!again) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(again);
  EXPECT_NE(watchdog->pid(), first);

  // The new one enforces the same lease over the same table.
  const pid_t group = start_group();
  ASSERT_OK(watchdog->add(group));
  watchdog->reset(Clock::now() + 50ms);
  EXPECT_TRUE(wait_for(group, 1s).has_value());
  watchdog->remove(group);
}

}  // namespace
}  // namespace cadre::agent

#include "agent/lease_watchdog.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

namespace cadre::agent {

struct LeaseWatchdog::Shared {
  std::atomic<int64_t> deadline_ns{0};   // CLOCK_MONOTONIC; 0: no lease. Written by the agent.
  std::atomic<uint64_t> expirations{0};  // written by the watchdog
  std::atomic<int32_t> groups[kMaxGroups] = {};  // 0: free slot. Written by the agent.
};

namespace {

// Shared between two processes: only lock-free atomics work there (and only they
// may be touched from the watchdog, which makes async-signal-safe calls only).
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int32_t>::is_always_lock_free);
// steady_clock is what the agent computes deadlines with; the watchdog reads
// CLOCK_MONOTONIC directly. libstdc++ and libc++ define one as the other.
static_assert(std::chrono::steady_clock::is_steady);

// The agent dying is signalled to the watchdog with this (PR_SET_PDEATHSIG).
constexpr int kParentDeathSignal = SIGUSR1;
volatile sig_atomic_t g_parent_gone = 0;

void on_parent_death(int) { g_parent_gone = 1; }

int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Everything below until watchdog_main's end runs in the forked watchdog:
// async-signal-safe calls only (the agent may have ZeroMQ threads by then), no
// allocation, no locks.

int kill_groups(LeaseWatchdog::Shared* shared);

void write_expired_line(int killed) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + killed % 10);
    killed /= 10;
  } while (killed > 0 && n < static_cast<int>(sizeof(digits)));
  char line[160];
  int len = 0;
  auto append = [&](const char* text) {
    for (; *text != '\0' && len < static_cast<int>(sizeof(line)); ++text) line[len++] = *text;
  };
  append("cadre-agent lease watchdog: lease expired; SIGKILLed ");
  while (n > 0 && len < static_cast<int>(sizeof(line))) line[len++] = digits[--n];
  append(" replica process group(s)\n");
  ssize_t ignored = ::write(STDERR_FILENO, line, static_cast<size_t>(len));
  (void)ignored;
}

// Keeps only stderr (for the line above): the agent's sockets, files and pipes
// must close when the agent closes them, not when its watchdog dies.
void close_inherited_descriptors() {
  const int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
  }
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
    const long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
    for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
  }
}

[[noreturn]] void watchdog_main(LeaseWatchdog::Shared* shared, pid_t agent_pid, int64_t poll_ns) {
  struct sigaction action {};
  action.sa_handler = on_parent_death;
  sigemptyset(&action.sa_mask);
  ::sigaction(kParentDeathSignal, &action, nullptr);
  ::prctl(PR_SET_PDEATHSIG, kParentDeathSignal);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR2}) ::signal(sig, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "cadre-lease-wd");
  close_inherited_descriptors();

  int64_t acted_on = 0;  // the expired deadline last counted in `expirations`
  for (;;) {
    // getppid covers an agent that died before prctl took effect.
    if (g_parent_gone != 0 || ::getppid() != agent_pid) {
      kill_groups(shared);
      ::_exit(0);
    }
    const int64_t deadline = shared->deadline_ns.load();
    if (deadline != 0 && monotonic_ns() >= deadline) {
      // Counted before the kills, so whoever sees a replica die of it (the agent
      // reaping, a test) already sees the expiry.
      const bool first = deadline != acted_on;
      if (first) {
        acted_on = deadline;
        shared->expirations.fetch_add(1);
      }
      // Again on every poll while expired: a group added meanwhile dies too.
      const int killed = kill_groups(shared);
      if (first) write_expired_line(killed);
    }
    timespec pause{poll_ns / 1'000'000'000, poll_ns % 1'000'000'000};
    ::nanosleep(&pause, nullptr);  // the death signal cuts it short
  }
}

int kill_groups(LeaseWatchdog::Shared* shared) {
  int killed = 0;
  for (auto& slot : shared->groups) {
    const pid_t pgid = slot.load();
    // 0 and 1 would mean "our own group" and "init's"; never a replica's.
    if (pgid > 1 && ::kill(-pgid, SIGKILL) == 0) ++killed;
  }
  return killed;
}

}  // namespace

Result<std::unique_ptr<LeaseWatchdog>> LeaseWatchdog::Create(const LeaseWatchdogOptions& options) {
  if (options.poll.count() <= 0) {
    return InvalidArgument("lease watchdog poll must be positive, got " +
                           std::to_string(options.poll.count()) + " ms");
  }
  void* page =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return Internal(std::string("mmap(lease page): ") + std::strerror(errno));
  std::unique_ptr<LeaseWatchdog> watchdog(new LeaseWatchdog(new (page) Shared(), options));
  RETURN_IF_ERROR(watchdog->spawn());
  return watchdog;
}

LeaseWatchdog::~LeaseWatchdog() {
  if (pid_ > 0) {
    // SIGKILL, not the death signal: a watchdog told the agent is dying would kill
    // the replicas, and the agent is stopping them gracefully itself.
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  shared_->~Shared();
  ::munmap(shared_, sizeof(Shared));
}

Status LeaseWatchdog::spawn() {
  const pid_t agent_pid = ::getpid();
  const int64_t poll_ns = std::chrono::nanoseconds(options_.poll).count();
  const pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork(lease watchdog): ") + std::strerror(errno));
  if (pid == 0) watchdog_main(shared_, agent_pid, poll_ns);
  pid_ = pid;
  return Status::Ok();
}

Result<bool> LeaseWatchdog::ensure_running() {
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == 0 || (done < 0 && errno == EINTR)) return false;
  // Dead (done == pid_), or already reaped elsewhere (ECHILD): start another.
  RETURN_IF_ERROR(spawn());
  return true;
}

void LeaseWatchdog::reset(std::optional<Clock::time_point> deadline) {
  shared_->deadline_ns.store(deadline ? std::max<int64_t>(1, to_ns(*deadline)) : 0);
}

bool LeaseWatchdog::extend(Clock::time_point deadline) {
  const int64_t current = shared_->deadline_ns.load();
  if (current == 0) return true;  // no lease to extend
  if (monotonic_ns() >= current) return false;
  // Only this thread writes the deadline, so load-then-store cannot lose an update.
  shared_->deadline_ns.store(std::max(current, to_ns(deadline)));
  return true;
}

bool LeaseWatchdog::expired(Clock::time_point now) const {
  const int64_t deadline = shared_->deadline_ns.load();
  return deadline != 0 && to_ns(now) >= deadline;
}

uint64_t LeaseWatchdog::expirations() const { return shared_->expirations.load(); }

Status LeaseWatchdog::add(pid_t pgid) {
  if (pgid <= 1)
    return InvalidArgument("process group " + std::to_string(pgid) + " is not a replica's");
  for (auto& slot : shared_->groups) {
    if (slot.load() == 0) {
      slot.store(pgid);
      return Status::Ok();
    }
  }
  return FailedPrecondition("the lease watchdog's table is full (" + std::to_string(kMaxGroups) +
                            " replicas)");
}

void LeaseWatchdog::remove(pid_t pgid) {
  for (auto& slot : shared_->groups) {
    if (slot.load() == pgid) slot.store(0);
  }
}

}  // namespace cadre::agent

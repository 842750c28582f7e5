#include "agent/process_launcher.h"
#include "tests/agent/launcher_fixture.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace cadre::agent {
namespace {

using namespace std::chrono_literals;

class ProcessLauncherTest : public LauncherFixture {
 protected:
  void SetUp() override { start(); }
};

TEST_F(ProcessLauncherTest, ReportsTheExitCodeAndCapturesStdoutAndStderr) {
  auto spec = shell("r1", "echo hi; echo oops >&2; exit 3");
  auto pid = launcher_->launch(spec);
  ASSERT_OK(pid);
  EXPECT_GT(*pid, 0);
  auto exit = wait_exit("r1", 5s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_EQ(exit->signal, 0);
  EXPECT_EQ(exit->reason, "Error");
  EXPECT_EQ(read(spec.log_path), "hi\noops\n");
  EXPECT_FALSE(launcher_->is_running("r1"));
}

TEST_F(ProcessLauncherTest, CallsASuccessfulExitCompleted) {
  ASSERT_OK(launcher_->launch(shell("ok", "true")));
  auto exit = wait_exit("ok", 5s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(exit->reason, "Completed");
}

TEST_F(ProcessLauncherTest, AppendsToAnExistingLog) {
  auto spec = shell("r2", "echo second");
  std::filesystem::create_directories(std::filesystem::path(spec.log_path).parent_path());
  std::ofstream(spec.log_path) << "first\n";
  ASSERT_OK(launcher_->launch(spec));
  ASSERT_TRUE(wait_exit("r2", 5s).has_value());
  EXPECT_EQ(read(spec.log_path), "first\nsecond\n");
}

TEST_F(ProcessLauncherTest, ReportsAMissingBinaryAsAnExecFailure) {
  protocol::LaunchReplica msg;
  msg.uid = "missing";
  msg.job = "job";
  msg.command = {"/nonexistent/cadre-no-such-binary"};
  auto spec = make_launch_spec(msg, work_.string(), current_environment());
  auto pid = launcher_->launch(*spec);
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().message(),
            "execvp(/nonexistent/cadre-no-such-binary): No such file or directory");
  EXPECT_FALSE(launcher_->is_running("missing"));
}

TEST_F(ProcessLauncherTest, ReportsAMissingWorkingDirAsAChdirFailure) {
  protocol::LaunchReplica msg;
  msg.working_dir = "/nonexistent/cadre-dir";
  auto pid = launcher_->launch(shell("nodir", "true", msg));
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().message(), "chdir(/nonexistent/cadre-dir): No such file or directory");
}

TEST_F(ProcessLauncherTest, PassesTheEnvironmentContractAndStartsInTheWorkingDir) {
  protocol::LaunchReplica msg;
  msg.env = {{"CADRE_RANK", "5"}, {"MY_SETTING", "on"}};
  msg.gpu_indices = {1};
  msg.working_dir = "sub";
  auto spec = shell("env", "echo \"$CUDA_VISIBLE_DEVICES|$CADRE_RANK|$MY_SETTING|$PWD\"", msg);
  ASSERT_OK(launcher_->launch(spec));
  ASSERT_TRUE(wait_exit("env", 5s).has_value());
  EXPECT_EQ(read(spec.log_path), "1|5|on|" + spec.working_dir + "\n");
}

TEST_F(ProcessLauncherTest, StopsASleepingProcessWellWithinTheGrace) {
  ASSERT_OK(launcher_->launch(shell("sleepy", "exec sleep 30")));
  const auto start = SteadyClock::now();
  ASSERT_OK(launcher_->terminate("sleepy", 5000ms));
  auto exit = wait_exit("sleepy", 5s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_LT(SteadyClock::now() - start, 2s);
  EXPECT_EQ(exit->signal, SIGTERM);
  EXPECT_EQ(exit->exit_code, 128 + SIGTERM);
  EXPECT_EQ(exit->reason, "Killed");
}

TEST_F(ProcessLauncherTest, KillsAProcessIgnoringSigtermOnceTheGraceRunsOut) {
  auto spec = shell("stubborn", "trap '' TERM; echo ready; while true; do sleep 0.1; done");
  ASSERT_OK(launcher_->launch(spec));
  // Let the shell install its trap before signalling it.
  for (int i = 0; i < 200 && read(spec.log_path).empty(); ++i) std::this_thread::sleep_for(10ms);
  const auto start = SteadyClock::now();
  ASSERT_OK(launcher_->terminate("stubborn", 300ms));
  auto exit = wait_exit("stubborn", 5s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_GE(SteadyClock::now() - start, 300ms);
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_EQ(exit->exit_code, 137);
  EXPECT_EQ(exit->reason, "Killed");
}

TEST_F(ProcessLauncherTest, KillingTheGroupTakesGrandchildrenToo) {
  auto spec = shell("family", "sleep 30 & echo $! > child.pid; wait");
  ASSERT_OK(launcher_->launch(spec));
  const std::string pid_file = spec.working_dir + "/child.pid";
  for (int i = 0; i < 200 && read(pid_file).empty(); ++i) std::this_thread::sleep_for(10ms);
  const pid_t grandchild = std::stoi(read(pid_file));
  ASSERT_EQ(::kill(grandchild, 0), 0);
  ASSERT_OK(launcher_->terminate("family", 1000ms));
  ASSERT_TRUE(wait_exit("family", 5s).has_value());
  // The grandchild was not our child, so nobody reaps it here: wait for it to vanish
  // or turn zombie under init.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    const std::string stat = read("/proc/" + std::to_string(grandchild) + "/stat");
    gone = stat.empty() || stat.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone);
}

TEST_F(ProcessLauncherTest, ReportsAnUnrequestedSignalAsSignaled) {
  ASSERT_OK(launcher_->launch(shell("self", "kill -9 $$")));
  auto exit = wait_exit("self", 5s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_EQ(exit->reason, "Signaled");
}

TEST_F(ProcessLauncherTest, RefusesASecondLaunchOfARunningUid) {
  ASSERT_OK(launcher_->launch(shell("twice", "exec sleep 30")));
  auto again = launcher_->launch(shell("twice", "exec sleep 30"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(launcher_->running_uids(), std::vector<std::string>{"twice"});
}

TEST_F(ProcessLauncherTest, WritesTheSpecsFilesBeforeTheReplicaStarts) {
  protocol::LaunchReplica msg;
  msg.hostfile = "node-a slots=1\nnode-b slots=1\n";
  auto spec = shell("mpi", "cat \"$CADRE_HOSTFILE\"", msg);
  ASSERT_OK(launcher_->launch(spec));
  ASSERT_TRUE(wait_exit("mpi", 5s).has_value());
  EXPECT_EQ(read(spec.log_path), "node-a slots=1\nnode-b slots=1\n");
}

// Records what the launcher tells the lease watchdog's table, and whether each
// group's leader was still unreaped (so its id not reusable) when it was removed.
class RecordingGroupTable : public ProcessGroupTable {
 public:
  Status add(pid_t pgid) override {
    listed.push_back(pgid);
    return Status::Ok();
  }
  void remove(pid_t pgid) override {
    listed.erase(std::remove(listed.begin(), listed.end(), pgid), listed.end());
    siginfo_t info{};
    const bool unreaped =
        ::waitid(P_PID, static_cast<id_t>(pgid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
    removed_unreaped.push_back(unreaped);
  }
  std::vector<pid_t> listed;
  std::vector<bool> removed_unreaped;
};

TEST_F(ProcessLauncherTest, ListsEachReplicasGroupFromItsStartUntilJustBeforeItIsReaped) {
  RecordingGroupTable table;
  ProcessLauncherOptions options;
  options.groups = &table;
  auto launcher = ProcessLauncher::Create(options);
  ASSERT_OK(launcher);
  launcher_ = std::move(*launcher);

  auto pid = launcher_->launch(shell("listed", "exec sleep 30"));
  ASSERT_OK(pid);
  EXPECT_EQ(table.listed, std::vector<pid_t>{*pid});
  ASSERT_OK(launcher_->kill_now("listed"));
  ASSERT_TRUE(wait_exit("listed", 5s).has_value());
  EXPECT_TRUE(table.listed.empty());
  EXPECT_EQ(table.removed_unreaped, std::vector<bool>{true});

  // A replica that never started leaves nothing listed either.
  protocol::LaunchReplica msg;
  msg.uid = "nobin";
  msg.job = "job";
  msg.command = {"/nonexistent/cadre-no-such-binary"};
  EXPECT_FALSE(launcher_->launch(*make_launch_spec(msg, work_.string(), {})).ok());
  EXPECT_TRUE(table.listed.empty());
}

TEST_F(ProcessLauncherTest, TerminatingAnUnknownUidIsNotFound) {
  EXPECT_EQ(launcher_->terminate("ghost", 10ms).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cadre::agent

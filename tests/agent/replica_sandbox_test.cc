// The replica sandbox on a real kernel: these need root (to switch users and make
// cgroups) and skip, saying so, without it. CI runs as root.
#include "agent/replica_sandbox.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/process_launcher.h"
#include "tests/agent/launcher_fixture.h"
#include "tests/support/status_matchers.h"

namespace cadre::agent {
namespace {

using namespace std::chrono_literals;

class ReplicaSandboxTest : public LauncherFixture {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users and create cgroups";
  }
  void TearDown() override {
    LauncherFixture::TearDown();
    // The parent groups go too, so test runs leave nothing in the hierarchies.
    if (::geteuid() != 0) return;
    auto cgroups = ReplicaCgroups::Create(parent_name());
    if (cgroups.ok()) {
      for (const std::string& parent : (*cgroups)->parents()) ::rmdir(parent.c_str());
    }
  }

  // Test processes run in parallel: each has its own parent group.
  static std::string parent_name() { return "cadre-sandbox-test-" + std::to_string(::getpid()); }

  // A launcher whose replicas run as `nobody` with cgroups as `mode`, on a node
  // whose GPUs have the device minors `gpu_minors`.
  void start_sandboxed(CgroupMode mode, std::vector<int32_t> gpu_minors = {}) {
    SandboxOptions options;
    options.run_as = "nobody";
    options.cgroups = mode;
    options.cgroup_parent = parent_name();
    options.pids_max = 64;
    auto sandbox = make_replica_sandbox(options);
    ASSERT_OK(sandbox);
    sandbox->gpu_minors = std::move(gpu_minors);
    ProcessLauncherOptions launcher_options;
    launcher_options.sandbox = *sandbox;
    start(launcher_options);
  }

  LaunchSpec shell_with_memory(const std::string& uid, const std::string& script, int64_t memory) {
    protocol::LaunchReplica msg;
    msg.memory_bytes = memory;
    return shell(uid, script, msg);
  }
};

TEST_F(ReplicaSandboxTest, ARootAgentRefusesToRunReplicasAsRootUnlessAllowed) {
  SandboxOptions options;
  options.run_as = "root";
  options.cgroups = CgroupMode::kOff;
  auto refused = make_replica_sandbox(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--allow-root-replicas"), std::string::npos);
  options.allow_root = true;
  EXPECT_OK(make_replica_sandbox(options));
  options.run_as = "no-such-user-here";
  auto missing = make_replica_sandbox(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no user 'no-such-user-here'"), std::string::npos);
}

TEST_F(ReplicaSandboxTest, AReplicaRunsUnprivilegedAndCannotReadTheAgentsKey) {
  start_sandboxed(CgroupMode::kOff);
  const std::string key = (work_ / "agent.key").string();
  std::ofstream(key) << "secret = do-not-leak\n";
  ::chmod(key.c_str(), 0600);
  auto spec = shell("r1",
                    "id -u; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; ulimit -c; "
                    "cat " +
                        key + " || echo unreadable; touch ./mine && echo wrote-own-dir");
  ASSERT_OK(launcher_->launch(spec));
  auto exit = wait_exit("r1", 10s);
  ASSERT_TRUE(exit.has_value());
  const std::string out = read(spec.log_path);
  EXPECT_NE(out.find("65534\n"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("\n0\n"), std::string::npos) << "core dumps off: " << out;
  EXPECT_EQ(out.find("do-not-leak"), std::string::npos) << out;
  EXPECT_NE(out.find("unreadable"), std::string::npos) << out;
  EXPECT_NE(out.find("wrote-own-dir"), std::string::npos) << out;
}

TEST_F(ReplicaSandboxTest, AReplicaCannotReplaceItsLogWithASymlink) {
  start_sandboxed(CgroupMode::kOff);
  auto spec = shell("r1", "");
  spec = shell("r1", "ln -sf /etc/shadow '" + spec.log_path + "' 2>/dev/null || echo refused");
  ASSERT_OK(launcher_->launch(spec));
  ASSERT_TRUE(wait_exit("r1", 10s).has_value());
  EXPECT_FALSE(std::filesystem::is_symlink(spec.log_path));
  const auto logs = std::filesystem::status(std::filesystem::path(spec.log_path).parent_path());
  EXPECT_EQ(logs.permissions(), std::filesystem::perms::owner_all)
      << "the logs folder is the agent's";
  EXPECT_NE(read(spec.log_path).find("refused"), std::string::npos);
}

class ReplicaCgroupTest : public ReplicaSandboxTest {
 protected:
  void SetUp() override {
    ReplicaSandboxTest::SetUp();
    if (IsSkipped()) return;
    auto probe = ReplicaCgroups::Create(parent_name());
    if (!probe.ok()) GTEST_SKIP() << "no usable cgroups here: " << probe.status().message();
    start_sandboxed(CgroupMode::kRequired);
  }
};

TEST_F(ReplicaCgroupTest, AReplicaOverItsMemoryRequestEndsOOMKilled) {
  // 200 MB held in a shell variable against a 32 MiB limit.
  auto spec = shell_with_memory(
      "r1", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", 32ll << 20);
  ASSERT_OK(launcher_->launch(spec));
  auto exit = wait_exit("r1", 60s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->reason, "OOMKilled") << read(spec.log_path);
  EXPECT_NE(exit->exit_code, 0);
  EXPECT_EQ(read(spec.log_path).find("survived"), std::string::npos);
}

TEST_F(ReplicaCgroupTest, AReplicaWithinItsMemoryCompletes) {
  auto spec =
      shell_with_memory("r1", "x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo ok", 64ll << 20);
  ASSERT_OK(launcher_->launch(spec));
  auto exit = wait_exit("r1", 30s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->reason, "Completed") << read(spec.log_path);
}

TEST_F(ReplicaCgroupTest, AChildThatCalledSetsidDiesWithItsReplica) {
  auto spec = shell("r1", "setsid sleep 300 & echo $! > escaped.pid; sleep 300");
  const std::string pid_file = spec.replica_dir + "/escaped.pid";
  ASSERT_OK(launcher_->launch(spec));
  pid_t escaped = 0;
  for (int i = 0; i < 200 && escaped == 0; ++i) {
    std::this_thread::sleep_for(10ms);
    std::istringstream(read(pid_file)) >> escaped;
  }
  ASSERT_GT(escaped, 0);
  // $! is written when the child is forked, before it has run setsid: wait for that.
  const pid_t group = ::getpgid(*launcher_->pid_of("r1"));
  for (int i = 0; i < 200 && ::getpgid(escaped) == group; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_NE(::getpgid(escaped), group) << "setsid did not leave the group";
  ASSERT_OK(launcher_->kill_now("r1"));
  ASSERT_TRUE(wait_exit("r1", 10s).has_value());
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ::kill(escaped, 0) != 0;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "pid " << escaped << " outlived its replica";
}

TEST_F(ReplicaCgroupTest, AForkBombStopsAtThePidsLimit) {
  // 64 pids: of 100 sleeps only some start; the rest fail to fork.
  auto spec = shell("r1", "for i in $(seq 100); do sleep 30 || exit 7 & done; wait; echo done");
  ASSERT_OK(launcher_->launch(spec));
  auto exit = wait_exit("r1", 30s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_NE(read(spec.log_path).find("fork"), std::string::npos) << read(spec.log_path);
  const std::string parent = ReplicaCgroups::Create(parent_name()).value()->parents()[0];
  bool removed = false;
  for (int i = 0; i < 200 && !removed; ++i) {
    (void)launcher_->reap();
    removed = !std::filesystem::exists(parent + "/r1");
    if (!removed) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(removed) << "the replica's group is removed once its processes are gone";
}

// What a replica started outlives a crashed agent (PR_SET_PDEATHSIG reaches only
// the replica's own process); the agent started again on the same work dir, and
// so the same parent group, stops it before it launches anything.
TEST_F(ReplicaSandboxTest, AnAgentStartingAgainStopsWhatItsEarlierRunLeftRunning) {
  auto earlier = ReplicaCgroups::Create(parent_name());
  if (!earlier.ok()) GTEST_SKIP() << "no usable cgroups here: " << earlier.status().message();
  start();  // only for its folder
  auto fds = (*earlier)->create("r1", {});
  ASSERT_OK(fds);
  const std::string pid_file = (work_ / "escaped.pid").string();
  const pid_t replica = ::fork();
  ASSERT_GE(replica, 0);
  if (replica == 0) {
    for (int fd : *fds) {
      if (::write(fd, "0", 1) != 1) ::_exit(70);
    }
    const std::string script = "setsid sleep 300 & echo $! > " + pid_file + "; sleep 300";
    ::execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    ::_exit(71);
  }
  for (int fd : *fds) ::close(fd);
  pid_t escaped = 0;
  for (int i = 0; i < 300 && escaped == 0; ++i) {
    std::this_thread::sleep_for(10ms);
    std::istringstream(read(pid_file)) >> escaped;
  }
  ASSERT_GT(escaped, 0);
  // The agent dies: the kernel kills the replica's process, nothing else.
  earlier->reset();
  ASSERT_EQ(::kill(replica, SIGKILL), 0);
  ASSERT_EQ(::waitpid(replica, nullptr, 0), replica);
  ASSERT_EQ(::kill(escaped, 0), 0) << "the setsid child outlives its replica";

  SandboxOptions options;
  options.run_as = "nobody";
  options.cgroups = CgroupMode::kRequired;
  options.cgroup_parent = parent_name();
  auto again = make_replica_sandbox(options);
  ASSERT_OK(again);
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = ::kill(escaped, 0) != 0;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "pid " << escaped << " outlived the agent's restart";
  again->cgroups->retry_removals();
  for (const std::string& dir : again->cgroups->dirs_of("r1")) {
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  }
}

// Two fake GPUs: device files with NVIDIA's major and minors 0 and 1, world-readable
// as the driver's are. Without a driver behind them an allowed open fails with
// ENXIO; the device cgroup refuses a denied one with EPERM before the driver is asked.
class GpuDeviceCgroupTest : public ReplicaSandboxTest {
 protected:
  void SetUp() override {
    ReplicaSandboxTest::SetUp();
    if (IsSkipped()) return;
    auto probe = ReplicaCgroups::Create(parent_name());
    if (!probe.ok() || !(*probe)->isolates_devices()) {
      GTEST_SKIP() << "no cgroup v1 devices hierarchy here";
    }
    start_sandboxed(CgroupMode::kRequired, {0, 1});
    devices_ = work_ / "dev";
    std::filesystem::create_directories(devices_);
    std::filesystem::permissions(devices_, std::filesystem::perms(0755));
    for (int minor : {0, 1}) {
      const std::string path = (devices_ / ("nvidia" + std::to_string(minor))).string();
      ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0666, makedev(195, minor)), 0) << path;
      ::chmod(path.c_str(), 0666);
    }
  }

  // What the replica given `gpus` saw opening each device: "nvidia0: <error>" lines.
  std::string open_each_gpu(const std::vector<int32_t>& gpus) {
    protocol::LaunchReplica msg;
    msg.gpu_indices = gpus;
    const std::string dir = devices_.string();
    auto spec = shell("r1",
                      "for n in 0 1; do printf 'nvidia%s: ' $n; cat " + dir +
                          "/nvidia$n 2>&1 | sed 's/.*: //'; done",
                      msg);
    EXPECT_OK(launcher_->launch(spec));
    auto exit = wait_exit("r1", 30s);
    EXPECT_TRUE(exit.has_value());
    return read(spec.log_path);
  }

  std::filesystem::path devices_;
};

TEST_F(GpuDeviceCgroupTest, AReplicaOpensTheGpuItWasGivenAndNoOther) {
  const std::string seen = open_each_gpu({1});
  EXPECT_NE(seen.find("nvidia0: Operation not permitted"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("nvidia1: Operation not permitted"), std::string::npos)
      << "its own GPU reaches the driver: " << seen;
}

TEST_F(GpuDeviceCgroupTest, AReplicaWithoutGpusOpensNone) {
  const std::string seen = open_each_gpu({});
  EXPECT_NE(seen.find("nvidia0: Operation not permitted"), std::string::npos) << seen;
  EXPECT_NE(seen.find("nvidia1: Operation not permitted"), std::string::npos) << seen;
}

}  // namespace
}  // namespace cadre::agent

// The cgroup code against hierarchies laid out in a temporary folder, as the kernel
// lays them out: the interface files of each group exist and nothing else can be
// created there. This host mounts cgroup v1 only, so the v2 path (a systemd node's
// delegated unified group) and hybrid detection are checked this way; what the kernel
// does with the values is what replica_sandbox_test checks on a real v1 hierarchy.
#include "agent/replica_cgroups.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "agent/gpu_device_filter.h"
#include "tests/support/status_matchers.h"

namespace cadre::agent {
namespace {

namespace fs = std::filesystem;

// A node whose unified hierarchy is mounted at <root>/sys/fs/cgroup and whose agent
// runs in /system.slice/cadre-agent.service, delegated (Delegate=yes).
class CgroupV2Tree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cadre-cgroup-v2-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    mount_ = root_ / "sys/fs/cgroup";
    own_ = mount_ / "system.slice/cadre-agent.service";
    group(mount_, "cpuset cpu io memory hugetlb pids rdma misc");
    group(own_, "cpu memory pids");
    // What mkdir would give the two groups the agent makes under its own.
    group(own_ / "agent", "cpu memory pids");
    group(own_ / "cadre-replicas", "cpu memory pids");
    host_.mounts = (root_ / "mounts").string();
    host_.own_groups = (root_ / "cgroup").string();
    write(host_.mounts,
          "proc /proc proc rw,nosuid 0 0\n"
          "cgroup2 " +
              mount_.string() + " cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n");
    write(host_.own_groups, "0::/system.slice/cadre-agent.service\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  // A group folder with the files the kernel gives every v2 group.
  static void group(const fs::path& dir, const std::string& controllers) {
    fs::create_directories(dir);
    write(dir / "cgroup.controllers", controllers + "\n");
    write(dir / "cgroup.subtree_control", "");
    write(dir / "cgroup.procs", "");
  }
  // A replica group as the kernel makes it once memory, pids and cpu are enabled above.
  static void replica_group(const fs::path& dir) {
    group(dir, "cpu memory pids");
    for (const char* file :
         {"memory.max", "memory.swap.max", "memory.events", "pids.max", "cpu.weight"}) {
      write(dir / file, "");
    }
  }
  static void write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  }
  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path root_, mount_, own_;
  CgroupHost host_;
};

TEST_F(CgroupV2Tree, NestsUnderTheAgentsDelegatedGroupWithAnAgentLeaf) {
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups) << cgroups.status().message();
  EXPECT_EQ((*cgroups)->version(), CgroupVersion::kV2);
  ASSERT_EQ((*cgroups)->parents().size(), 1u);
  EXPECT_EQ((*cgroups)->parents()[0], (own_ / "cadre-replicas").string());
  // A group whose children have controllers holds no processes: the agent moves
  // itself into a leaf beside the replicas' subtree.
  EXPECT_EQ(read(own_ / "agent/cgroup.procs"), "0");
  EXPECT_EQ(read(own_ / "cgroup.subtree_control"), "+memory +pids +cpu");
  EXPECT_EQ(read(own_ / "cadre-replicas/cgroup.subtree_control"), "+memory +pids +cpu");
  EXPECT_EQ((*cgroups)->isolates_devices(), probe_gpu_device_filter().ok())
      << "v2 denies devices with a BPF program, where one loads";
}

TEST_F(CgroupV2Tree, LeavesCpuOutOfTheSubtreeWhenTheGroupIsNotGivenIt) {
  write(own_ / "cgroup.controllers", "memory pids\n");
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups);
  EXPECT_EQ(read(own_ / "cgroup.subtree_control"), "+memory +pids");
}

TEST_F(CgroupV2Tree, RefusesAGroupThatDoesNotDelegateMemory) {
  write(own_ / "cgroup.controllers", "cpu pids\n");
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_FALSE(cgroups.ok());
  EXPECT_NE(cgroups.status().message().find("does not delegate memory"), std::string::npos)
      << cgroups.status().message();
  EXPECT_NE(cgroups.status().message().find(own_.string()), std::string::npos);
}

TEST_F(CgroupV2Tree, WritesTheRequestsAsLimitsInTheReplicasGroup) {
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups);
  const fs::path dir = own_ / "cadre-replicas/r1";
  replica_group(dir);
  auto fds = (*cgroups)->create("r1", {512ll << 20, 1000, 64, {}});
  ASSERT_OK(fds);
  ASSERT_EQ(fds->size(), 1u) << "one group to join on v2";
  EXPECT_EQ(read(dir / "memory.max"), std::to_string(512ll << 20));
  EXPECT_EQ(read(dir / "memory.swap.max"), "0");
  EXPECT_EQ(read(dir / "pids.max"), "64");
  // Kubernetes' conversion: 1000m -> 1024 shares -> weight 1 + (1024-2)*9999/262142.
  EXPECT_EQ(read(dir / "cpu.weight"), "39");
  // The child joins through this descriptor between fork and exec.
  ASSERT_EQ(::write(fds->front(), "0", 1), 1);
  ::close(fds->front());
  EXPECT_EQ(read(dir / "cgroup.procs"), "0");
}

TEST_F(CgroupV2Tree, AGroupWhoseGpuDeviceProgramCannotBeAttachedIsNotJoined) {
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups);
  if (!(*cgroups)->isolates_devices()) GTEST_SKIP() << "no BPF device programs here";
  replica_group(own_ / "cadre-replicas/r1");
  // A folder is no cgroup: the kernel refuses the program, and the replica must not
  // start without the rule it was promised.
  auto fds = (*cgroups)->create("r1", {0, 0, 0, {1}});
  ASSERT_FALSE(fds.ok());
  EXPECT_NE(fds.status().message().find("BPF_PROG_ATTACH"), std::string::npos)
      << fds.status().message();
}

TEST_F(CgroupV2Tree, SetsNoLimitThatWasNotAskedFor) {
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups);
  const fs::path dir = own_ / "cadre-replicas/r1";
  replica_group(dir);
  auto fds = (*cgroups)->create("r1", {});
  ASSERT_OK(fds);
  for (int fd : *fds) ::close(fd);
  for (const char* file : {"memory.max", "memory.swap.max", "pids.max", "cpu.weight"}) {
    EXPECT_EQ(read(dir / file), "") << file;
  }
}

TEST_F(CgroupV2Tree, ReadsAnOomKillFromTheGroupsMemoryEvents) {
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups);
  const fs::path dir = own_ / "cadre-replicas/r1";
  replica_group(dir);
  write(dir / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
  EXPECT_FALSE((*cgroups)->oom_killed("r1")) << "hitting the limit is not being killed";
  write(dir / "memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n");
  EXPECT_TRUE((*cgroups)->oom_killed("r1"));
}

TEST_F(CgroupV2Tree, KillsEveryProcessTheGroupLists) {
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups);
  const fs::path dir = own_ / "cadre-replicas/r1";
  replica_group(dir);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  write(dir / "cgroup.procs", std::to_string(child) + "\n");
  EXPECT_GE((*cgroups)->kill_all("r1"), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST_F(CgroupV2Tree, PrefersV1ControllersOnAHybridNodeWhoseUnifiedMountIsEmpty) {
  // systemd's hybrid layout: an empty unified mount beside one mount per v1 controller.
  write(mount_ / "cgroup.controllers", "");
  const fs::path v1 = root_ / "v1";
  std::string mounts = "cgroup2 " + mount_.string() + " cgroup2 rw 0 0\n";
  for (const char* controller : {"memory", "pids", "cpu,cpuacct", "devices"}) {
    fs::create_directories(v1 / controller / "agents");
    mounts +=
        std::string("cgroup ") + (v1 / controller).string() + " cgroup rw," + controller + " 0 0\n";
  }
  write(host_.mounts, mounts);
  write(host_.own_groups,
        "5:devices:/agents\n4:pids:/agents\n3:cpu,cpuacct:/agents\n2:memory:/agents\n"
        "0::/agents\n");
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups);
  EXPECT_EQ((*cgroups)->version(), CgroupVersion::kV1);
  const std::vector<std::string> expected = {(v1 / "memory/agents/cadre-replicas").string(),
                                             (v1 / "pids/agents/cadre-replicas").string(),
                                             (v1 / "cpu,cpuacct/agents/cadre-replicas").string(),
                                             (v1 / "devices/agents/cadre-replicas").string()};
  EXPECT_EQ((*cgroups)->parents(), expected);
}

TEST_F(CgroupV2Tree, AV1DevicesHierarchyItCannotWriteCostsTheDeviceRulesAndNothingElse) {
  const fs::path v1 = root_ / "v1";
  std::string mounts;
  for (const char* controller : {"memory", "pids"}) {
    fs::create_directories(v1 / controller);
    mounts +=
        std::string("cgroup ") + (v1 / controller).string() + " cgroup rw," + controller + " 0 0\n";
  }
  write(v1 / "devices", "a file where the hierarchy should be");  // mkdir below it fails
  mounts += "cgroup " + (v1 / "devices").string() + " cgroup rw,devices 0 0\n";
  write(host_.mounts, mounts);
  write(host_.own_groups, "3:devices:/\n2:pids:/\n1:memory:/\n");
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_OK(cgroups) << "memory and pids still isolate";
  const std::vector<std::string> expected = {(v1 / "memory/cadre-replicas").string(),
                                             (v1 / "pids/cadre-replicas").string()};
  EXPECT_EQ((*cgroups)->parents(), expected);
  EXPECT_FALSE((*cgroups)->isolates_devices());
}

TEST_F(CgroupV2Tree, SaysWhyWhenNoHierarchyIsUsable) {
  write(host_.mounts, "proc /proc proc rw 0 0\n");
  auto cgroups = ReplicaCgroups::Create("cadre-replicas", host_);
  ASSERT_FALSE(cgroups.ok());
  EXPECT_NE(cgroups.status().message().find("no cgroup v1 'memory' hierarchy"), std::string::npos)
      << cgroups.status().message();
}

}  // namespace
}  // namespace cadre::agent

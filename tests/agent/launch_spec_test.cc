#include "agent/launch_spec.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace cadre::agent {
namespace {

protocol::LaunchReplica sample_launch() {
  protocol::LaunchReplica msg;
  msg.uid = "fmnist-main-0-a1";
  msg.job = "fmnist";
  msg.ns = "default";
  msg.replica_type = "Worker";
  msg.replica_index = 1;
  msg.rank = 2;
  msg.world_size = 4;
  msg.command = {"python3", "-u"};
  msg.args = {"train.py", "--epochs=3"};
  msg.env = {{"CADRE_PEERS", "a:1,b:2"}, {"USER_VAR", "x"}};
  return msg;
}

TEST(ExistingLogPath, FindsLogsWhereOlderAgentsLeftThem) {
  cadre::testing::TempDir work{"cadre-logs"};
  const std::string dir = work.path().string();
  EXPECT_EQ(existing_log_path(dir, "old-0"), replica_log_path(dir, "old-0")) << "neither exists";
  std::filesystem::create_directories(work.path() / "replicas" / "old-0");
  std::ofstream(work.path() / "replicas" / "old-0" / "output.log") << "old\n";
  EXPECT_EQ(existing_log_path(dir, "old-0"), dir + "/replicas/old-0/output.log");
  std::filesystem::create_directories(work.path() / "logs");
  std::ofstream(replica_log_path(dir, "old-0")) << "new\n";
  EXPECT_EQ(existing_log_path(dir, "old-0"), replica_log_path(dir, "old-0")) << "the new one wins";
}

TEST(MakeLaunchSpec, AppendsArgsToTheCommand) {
  auto spec = make_launch_spec(sample_launch(), "/w", {});
  ASSERT_OK(spec);
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"python3", "-u", "train.py", "--epochs=3"}));
}

TEST(MakeLaunchSpec, LayersAgentEnvThenMessageEnvThenTheContract) {
  auto spec = make_launch_spec(
      sample_launch(), "/w",
      {{"PATH", "/usr/bin"}, {"USER_VAR", "agent"}, {"CUDA_VISIBLE_DEVICES", "0,1,2,3"}});
  ASSERT_OK(spec);
  const auto& env = spec->env;
  EXPECT_EQ(env.at("PATH"), "/usr/bin");
  EXPECT_EQ(env.at("USER_VAR"), "x");  // the message wins over the agent
  EXPECT_EQ(env.at("CADRE_PEERS"), "a:1,b:2");
  EXPECT_EQ(env.at("CADRE_JOB"), "fmnist");
  EXPECT_EQ(env.at("CADRE_NAMESPACE"), "default");
  EXPECT_EQ(env.at("CADRE_REPLICA_TYPE"), "Worker");
  EXPECT_EQ(env.at("CADRE_REPLICA_INDEX"), "1");
  EXPECT_EQ(env.at("CADRE_RANK"), "2");
  EXPECT_EQ(env.at("CADRE_WORLD_SIZE"), "4");
  // No GPUs assigned: an empty list, never the agent's own devices.
  EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES"), "");
  EXPECT_EQ(env.at("CADRE_CHECKPOINT_DIR"), "/w/checkpoints/fmnist");
}

TEST(MakeLaunchSpec, ListsAssignedGpusInCudaVisibleDevices) {
  auto msg = sample_launch();
  msg.gpu_indices = {2, 3};
  auto spec = make_launch_spec(msg, "/w", {});
  ASSERT_OK(spec);
  EXPECT_EQ(spec->env.at("CUDA_VISIBLE_DEVICES"), "2,3");
  EXPECT_EQ(spec->gpu_indices, (std::vector<int32_t>{2, 3})) << "what the device cgroup allows";
  // The indices are nvidia-smi's (PCI bus order), so CUDA counts in that order too.
  EXPECT_EQ(spec->env.at("CUDA_DEVICE_ORDER"), "PCI_BUS_ID");
}

TEST(MakeLaunchSpec, KeepsTheCudaDeviceOrderASpecAskedFor) {
  auto msg = sample_launch();
  msg.env["CUDA_DEVICE_ORDER"] = "FASTEST_FIRST";
  EXPECT_EQ(make_launch_spec(msg, "/w", {})->env.at("CUDA_DEVICE_ORDER"), "FASTEST_FIRST");
}

TEST(MakeLaunchSpec, GivesEachReplicaAPrivateTmpdirUnlessTheSpecSetsOne) {
  auto spec = make_launch_spec(sample_launch(), "/w", {{"TMPDIR", "/tmp"}});
  ASSERT_OK(spec);
  EXPECT_EQ(spec->env.at("TMPDIR"), "/w/replicas/fmnist-main-0-a1/tmp");  // not the agent's
  EXPECT_NE(std::find(spec->create_dirs.begin(), spec->create_dirs.end(),
                      "/w/replicas/fmnist-main-0-a1/tmp"),
            spec->create_dirs.end());
  auto msg = sample_launch();
  msg.env["TMPDIR"] = "/scratch";
  spec = make_launch_spec(msg, "/w", {});
  EXPECT_EQ(spec->env.at("TMPDIR"), "/scratch");
  for (const auto& dir : spec->create_dirs) EXPECT_NE(dir, "/w/replicas/fmnist-main-0-a1/tmp");
}

TEST(MakeLaunchSpec, KeepsACheckpointDirTheCoordinatorChose) {
  auto msg = sample_launch();
  msg.env["CADRE_CHECKPOINT_DIR"] = "/shared/ckpt";
  msg.checkpoint_root = "/shared";
  auto spec = make_launch_spec(msg, "/w", {});
  EXPECT_EQ(spec->env.at("CADRE_CHECKPOINT_DIR"), "/shared/ckpt");
  for (const auto& dir : spec->create_dirs) EXPECT_NE(dir, "/w/checkpoints/fmnist");
  // Created before start, like the agent's own default.
  EXPECT_NE(std::find(spec->create_dirs.begin(), spec->create_dirs.end(), "/shared/ckpt"),
            spec->create_dirs.end());
}

TEST(MakeLaunchSpec, PlacesRelativeWorkingDirsInsideTheReplicaDir) {
  auto msg = sample_launch();
  EXPECT_EQ(make_launch_spec(msg, "/w", {})->working_dir, "/w/replicas/fmnist-main-0-a1");
  msg.working_dir = "src";
  EXPECT_EQ(make_launch_spec(msg, "/w", {})->working_dir, "/w/replicas/fmnist-main-0-a1/src");
  msg.working_dir = "/opt/code";
  EXPECT_EQ(make_launch_spec(msg, "/w", {})->working_dir, "/opt/code");
  EXPECT_EQ(make_launch_spec(msg, "/w", {})->log_path, "/w/logs/fmnist-main-0-a1.log");
}

TEST(MakeLaunchSpec, RefusesARelativeWorkingDirThatLeavesTheReplicaDir) {
  auto msg = sample_launch();
  for (const std::string escape : {"..", "../..", "../../../etc", "a/../../b"}) {
    msg.working_dir = escape;
    auto spec = make_launch_spec(msg, "/w", {});
    ASSERT_FALSE(spec.ok()) << escape;
    EXPECT_NE(spec.status().message().find("leaves the replica's folder"), std::string::npos);
  }
  msg.working_dir = "a/../b";
  EXPECT_EQ(make_launch_spec(msg, "/w", {})->working_dir, "/w/replicas/fmnist-main-0-a1/b");
}

TEST(MakeLaunchSpec, CreatesACheckpointDirOnlyInsideTheSharedRootOrItsWorkDir) {
  auto msg = sample_launch();
  msg.checkpoint_root = "/shared";
  auto created = [&](const std::string& dir) {
    msg.env["CADRE_CHECKPOINT_DIR"] = dir;
    auto spec = make_launch_spec(msg, "/w", {});
    EXPECT_EQ(spec->env.at("CADRE_CHECKPOINT_DIR"), dir) << "the job still sees its value";
    return std::find(spec->create_dirs.begin(), spec->create_dirs.end(), dir) !=
           spec->create_dirs.end();
  };
  EXPECT_TRUE(created("/shared/default/fmnist"));
  EXPECT_TRUE(created("/w/mine"));
  EXPECT_FALSE(created("/etc/cron.d/evil"));
  EXPECT_FALSE(created("/shared/../etc"));
  EXPECT_FALSE(created("/sharedother/x"));
  EXPECT_FALSE(created("relative/dir"));
}

TEST(MakeLaunchSpec, RefusesUidsAndJobsThatAreNotPlainFolderNames) {
  for (const std::string bad : {"", ".", "..", "../etc", "a/b", "x y"}) {
    auto msg = sample_launch();
    msg.uid = bad;
    EXPECT_FALSE(make_launch_spec(msg, "/w", {}).ok()) << "uid '" << bad << "'";
    msg = sample_launch();
    msg.job = bad;
    EXPECT_FALSE(make_launch_spec(msg, "/w", {}).ok()) << "job '" << bad << "'";
  }
}

TEST(MakeLaunchSpec, WritesTheHostfileIntoTheReplicaDirAndPointsMpiAtIt) {
  auto msg = sample_launch();
  msg.hostfile = "10.0.0.1 slots=1\n10.0.0.2 slots=1\n";
  // The file is this incarnation's truth, whatever the user's env said.
  msg.env["CADRE_HOSTFILE"] = "/stale/hostfile";
  msg.env["OMPI_MCA_orte_default_hostfile"] = "/stale/hostfile";
  auto spec = make_launch_spec(msg, "/w", {});
  ASSERT_OK(spec);
  const std::string path = "/w/replicas/fmnist-main-0-a1/hostfile";
  EXPECT_EQ(spec->files, (std::map<std::string, std::string>{{path, msg.hostfile}}));
  EXPECT_EQ(spec->env.at("CADRE_HOSTFILE"), path);
  EXPECT_EQ(spec->env.at("OMPI_MCA_orte_default_hostfile"), path);
  EXPECT_EQ(spec->env.at("USER_VAR"), "x");  // other user variables still win
}

TEST(MakeLaunchSpec, WritesNoHostfileWhenTheMessageHasNone) {
  auto spec = make_launch_spec(sample_launch(), "/w", {});
  ASSERT_OK(spec);
  EXPECT_TRUE(spec->files.empty());
  EXPECT_EQ(spec->env.count("CADRE_HOSTFILE"), 0u);
  EXPECT_EQ(spec->env.count("OMPI_MCA_orte_default_hostfile"), 0u);
}

TEST(MakeLaunchSpec, RefusesAnEmptyCommand) {
  auto msg = sample_launch();
  msg.command.clear();
  EXPECT_EQ(make_launch_spec(msg, "/w", {}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cadre::agent

namespace cadre::agent {
namespace {

TEST(LaunchSpecMetrics, AMetricsFileIsResolvedFromTheWorkingFolder) {
  auto msg = sample_launch();
  msg.working_dir = "run";
  msg.metrics.source = "file";
  msg.metrics.file = "out/../metrics.txt";
  auto spec = make_launch_spec(msg, "/work", {});
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  EXPECT_EQ(spec->metrics.file, "/work/replicas/fmnist-main-0-a1/run/metrics.txt");
}

TEST(LaunchSpecMetrics, AnUnknownSourceOrAFileSourceWithoutAPathIsRefused) {
  auto msg = sample_launch();
  msg.metrics.source = "carrier-pigeon";
  EXPECT_FALSE(make_launch_spec(msg, "/work", {}).ok());
  msg.metrics.source = "file";
  EXPECT_FALSE(make_launch_spec(msg, "/work", {}).ok());
}

}  // namespace
}  // namespace cadre::agent

// The walking skeleton's acceptance, through the real binaries on 127.0.0.1.
#include <signal.h>

#include <sstream>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

class JobLifecycle : public LocalCluster {};

TEST_F(JobLifecycle, TwoNodesAreReadyWithinFiveSeconds) {
  ASSERT_TRUE(eventually(
      [&] {
        auto nodes = get_json("nodes");
        if (!nodes.is_array() || nodes.size() != 2) return false;
        for (const auto& node : nodes) {
          if (node.value("state", "") != "Ready") return false;
        }
        return true;
      },
      5s));
  auto nodes = get_json("nodes");
  for (const auto& node : nodes) {
    EXPECT_TRUE(node.contains("name"));
    EXPECT_GT(node.value("cpus", 0.0), 0.0);
    EXPECT_GT(node.value("memory", int64_t{0}), 0);
    EXPECT_TRUE(node.contains("gpus"));
  }
}

TEST_F(JobLifecycle,
       HelloJobSucceedsWithItsLogsAndMetricsAndDeletedLeavesNoFileOrLineToOneCreatedAgain) {
  auto applied = apply(shell_job("hello", "echo hello-cadre; echo accuracy=0.5"));
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("job/hello created"), std::string::npos) << applied.output;

  auto waited = cadre("wait job/hello --for Succeeded --timeout 30");
  ASSERT_EQ(waited.exit_code, 0) << waited.output;
  auto logs = cadre("logs job/hello");
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_NE(logs.output.find("hello-cadre"), std::string::npos) << logs.output;

  auto jobs = get_json("jobs");
  ASSERT_TRUE(jobs.is_array());
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["name"], "hello");
  EXPECT_EQ(jobs[0]["kind"], "Job");
  EXPECT_EQ(jobs[0]["phase"], "Succeeded");
  EXPECT_EQ(jobs[0]["exitCode"], 0);
  EXPECT_DOUBLE_EQ(jobs[0]["metrics"]["accuracy"].get<double>(), 0.5);
  EXPECT_FALSE(jobs[0]["node"].get<std::string>().empty());

  // Deleted: its node removes the replica's folder and log, which nothing can read
  // any more. Created again under its name: only the new job's log and metrics.
  const std::string node = jobs[0]["node"], uid = jobs[0]["replica"];
  ASSERT_EQ(node.rfind("local-", 0), 0u) << node;
  const std::string work = path("agents/agent-" + node.substr(6));  // local-N's work dir
  const auto folder = std::filesystem::path(work + "/replicas/" + uid);
  const auto log = std::filesystem::path(work + "/logs/" + uid + ".log");
  ASSERT_TRUE(std::filesystem::exists(folder)) << folder;
  ASSERT_TRUE(std::filesystem::exists(log)) << log;
  ASSERT_EQ(cadre("delete job/hello").exit_code, 0);
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(log); }, 10s)) << log;
  EXPECT_FALSE(std::filesystem::exists(folder)) << folder;
  ASSERT_EQ(apply(shell_job("hello", "echo hello-again; echo accuracy=0.75")).exit_code, 0);
  ASSERT_EQ(cadre("wait job/hello --for Succeeded --timeout 30").exit_code, 0);
  logs = cadre("logs job/hello");
  EXPECT_EQ(logs.output, "hello-again\naccuracy=0.75\n") << "the first job's lines are not its";
  auto again = get_json("jobs");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0]["replica"], jobs[0]["replica"]) << "a uid of the first job, reused";
  EXPECT_DOUBLE_EQ(again[0]["metrics"]["accuracy"].get<double>(), 0.75);
}

TEST_F(JobLifecycle, GetWatchPrintsAJobsRowAsItChangesAndOnceItIsDeleted) {
  std::thread user([&] {
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(apply(shell_job("watched", "sleep 1")).exit_code, 0);
    EXPECT_EQ(cadre("wait job/watched --for Succeeded --timeout 20").exit_code, 0);
    std::this_thread::sleep_for(2s);  // a fetch a second: the watch sees it Succeeded
    EXPECT_EQ(cadre("delete job/watched").exit_code, 0);
  });
  auto watched =
      run_command("timeout 10 " + bin("cadre") + " --config " + path("config") + " get jobs -w");
  user.join();
  EXPECT_EQ(watched.exit_code, 124) << watched.output;  // ended by timeout, not by an error
  std::vector<std::string> lines;
  std::istringstream in(watched.output);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 4u) << watched.output;
  EXPECT_EQ(lines[0], "No jobs found.");
  EXPECT_EQ(lines[1].rfind("NAME", 0), 0u) << watched.output;
  size_t succeeded = 0;
  for (const auto& line : lines) succeeded += line.find("Succeeded") != std::string::npos;
  EXPECT_EQ(succeeded, 1u) << "a row prints when it changes, not at every fetch:\n"
                           << watched.output;
  EXPECT_EQ(lines.back(), "watched   (deleted)") << watched.output;
}

TEST_F(JobLifecycle, ReplicaSeesTheEnvironmentContract) {
  ASSERT_EQ(apply(shell_job("env",
                            "echo job=$CADRE_JOB rank=$CADRE_RANK world=$WORLD_SIZE "
                            "type=$CADRE_REPLICA_TYPE ckpt=$CADRE_CHECKPOINT_DIR"))
                .exit_code,
            0);
  ASSERT_EQ(cadre("wait job/env --for Succeeded --timeout 30").exit_code, 0);
  auto logs = cadre("logs job/env").output;
  EXPECT_NE(logs.find("job=env rank=0 world=1 type=Main ckpt=/"), std::string::npos) << logs;
}

TEST_F(JobLifecycle, ExitCodeThreeEndsFailedWithThatCode) {
  ASSERT_EQ(apply(shell_job("three", "exit 3")).exit_code, 0);
  auto waited = cadre("wait job/three --for Succeeded --timeout 30");
  EXPECT_NE(waited.exit_code, 0);
  EXPECT_NE(waited.output.find("Failed"), std::string::npos) << waited.output;
  auto job = get_json("jobs three");
  EXPECT_EQ(job["phase"], "Failed");
  EXPECT_EQ(job["exitCode"], 3);
  EXPECT_EQ(cadre("wait job/three --for Failed --timeout 5").exit_code, 0);
}

TEST_F(JobLifecycle, MissingCommandFailsAsLaunchFailed) {
  ASSERT_EQ(apply("apiVersion: cadre/v1\nkind: Job\nmetadata: {name: nobin}\nspec:\n  template:\n"
                  "    command: [/no/such/binary]\n")
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] { return job_phase("nobin") == "Failed"; }, 15s));
  EXPECT_EQ(get_json("jobs nobin")["reason"], "LaunchFailed");
}

TEST_F(JobLifecycle, DeleteStopsASleepingJobWithinTheGracePeriod) {
  // A marker in the command line lets us find exactly this process.
  const std::string marker = "sleep 600." + std::to_string(::getpid());
  // "[s]leep" matches the process but not the shell running pgrep.
  const std::string pattern = "[s]" + marker.substr(1);
  ASSERT_EQ(
      apply(shell_job("sleeper", "exec " + marker, "  activeDeadlineSeconds: 3600\n")).exit_code,
      0);
  ASSERT_TRUE(eventually([&] { return job_phase("sleeper") == "Running"; }, 15s));
  ASSERT_TRUE(
      eventually([&] { return run_command("pgrep -f '" + pattern + "'").exit_code == 0; }, 5s));
  // Its node's page names it among the replicas placed there.
  const std::string node = get_json("job/sleeper")["node"];
  auto described = cadre("describe node " + node);
  ASSERT_EQ(described.exit_code, 0) << described.output;
  EXPECT_NE(described.output.find("Name:       " + node + "\n"), std::string::npos)
      << described.output;
  EXPECT_NE(described.output.find("  job/sleeper   main-0    Running"), std::string::npos)
      << described.output;
  // The node's own report (its heartbeat) lists the replica's uid too.
  const std::string uid = get_json("job/sleeper")["replica"];
  EXPECT_TRUE(eventually(
      [&] {
        const auto replicas = get_json("node/" + node)["replicas"];
        return std::find(replicas.begin(), replicas.end(), uid) != replicas.end();
      },
      3s));

  const auto start = std::chrono::steady_clock::now();
  auto deleted = cadre("delete job/sleeper");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_NE(deleted.output.find("job/sleeper deleted"), std::string::npos);
  // sleep dies on SIGTERM at once; the default grace period is 10 s.
  EXPECT_TRUE(
      eventually([&] { return run_command("pgrep -f '" + pattern + "'").exit_code != 0; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_NE(cadre("get jobs sleeper").exit_code, 0);
  // The API is still serving after a delete.
  EXPECT_EQ(cadre("get nodes").exit_code, 0);
  EXPECT_TRUE(get_json("jobs").empty());
}

TEST_F(JobLifecycle, ActiveDeadlineStopsTheJobAsDeadlineExceeded) {
  ASSERT_EQ(apply(shell_job("late", "sleep 600", "  activeDeadlineSeconds: 1\n")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return job_phase("late") == "Failed"; }, 15s));
  EXPECT_EQ(get_json("jobs late")["reason"], "DeadlineExceeded");
}

TEST_F(JobLifecycle, BadSpecIsRefusedWithItsFieldPathAndNothingIsCreated) {
  auto refused = apply(
      "apiVersion: cadre/v1\nkind: Job\nmetadata: {name: bad}\nspec:\n  template:\n"
      "    command: [sh]\n    resources: {cpu: lots}\n");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("spec.template.resources.cpu"), std::string::npos)
      << refused.output;
  auto unknown =
      apply("apiVersion: cadre/v1\nkind: Job\nmetadata: {name: bad}\nspec:\n  templte: {}\n");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("spec.templte: unknown field"), std::string::npos)
      << unknown.output;
  EXPECT_TRUE(get_json("jobs").empty());
}

TEST_F(JobLifecycle, ReapplyingTheSameSpecIsUnchangedAndADifferentOneIsRefused) {
  const std::string spec = shell_job("same", "true");
  ASSERT_EQ(apply(spec).exit_code, 0);
  auto again = apply(spec);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.output.find("unchanged"), std::string::npos) << again.output;
  auto different = apply(shell_job("same", "false"));
  EXPECT_NE(different.exit_code, 0);
  EXPECT_NE(different.output.find("already exists"), std::string::npos) << different.output;
}

TEST_F(JobLifecycle, RequestNoNodeCouldHoldFailsUnschedulableAtOnce) {
  ASSERT_EQ(apply(shell_job("huge", "true") + "    resources: {gpu: 8}\n").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return job_phase("huge") == "Failed"; }, 5s));
  auto job = get_json("jobs huge");
  EXPECT_EQ(job["reason"], "Unschedulable");
  EXPECT_NE(job["message"].get<std::string>().find("gpu=8"), std::string::npos) << job.dump();
}

TEST_F(JobLifecycle, TrainingJobReportsItsEpochMetrics) {
  // cadre-train is on the replicas' PATH in a local cluster, as on an installed node.
  ASSERT_EQ(
      apply("apiVersion: cadre/v1\nkind: Job\nmetadata: {name: train}\nspec:\n"
            "  template:\n    command: [cadre-train]\n"
            "    args: [--model, mlp, --epochs, '2', --threads, '1', --train-limit, '6000']\n")
          .exit_code,
      0);
  auto waited = cadre("wait job/train --for Succeeded --timeout 120");
  ASSERT_EQ(waited.exit_code, 0) << waited.output << cadre("logs job/train").output;
  auto job = get_json("jobs train");
  EXPECT_EQ(job["metrics"]["epoch"], 2);
  EXPECT_GT(job["metrics"]["accuracy"].get<double>(), 0.6);
  EXPECT_GT(job["metrics"]["images_per_sec"].get<double>(), 0.0);
}

}  // namespace
}  // namespace cadre::testing

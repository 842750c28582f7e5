// Taking a node out of placement for maintenance (cadre cordon / uncordon), on a
// real local cluster.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

// Fixed ports: the coordinator is restarted where agents and clients expect it.
class NodeMaintenance : public LocalCluster {
 protected:
  std::string up_flags() const override { return fixed_ports_flags(); }

  bool unschedulable(const std::string& node) const {
    return get_json("nodes " + node).value("unschedulable", false);
  }
};

TEST_F(NodeMaintenance, ACordonedNodeKeepsWhatRunsButGetsNothingNewEvenAfterARestart) {
  ASSERT_EQ(apply(shell_job("running", "sleep 600")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return job_phase("running") == "Running"; }, 10s));
  const std::string busy = get_json("jobs running")["node"];
  const std::string other = busy == "local-1" ? "local-2" : "local-1";

  auto cordoned = cadre("cordon " + busy);
  ASSERT_EQ(cordoned.exit_code, 0) << cordoned.output;
  EXPECT_EQ(cordoned.output, "node/" + busy + " cordoned\n");
  EXPECT_EQ(cadre("cordon node/" + busy).output, "node/" + busy + " already cordoned\n");
  EXPECT_TRUE(unschedulable(busy));
  EXPECT_NE(cadre("get nodes").output.find(busy + "   Ready,SchedulingDisabled"),
            std::string::npos);

  // New work goes to the other node, where pack would have put it with the first.
  for (const std::string name : {"a", "b", "c"}) {
    ASSERT_EQ(apply(shell_job(name, "true")).exit_code, 0);
    ASSERT_EQ(cadre("wait job/" + name + " --for Succeeded --timeout 30").exit_code, 0);
    EXPECT_EQ(get_json("jobs " + name)["node"], other) << name;
  }
  EXPECT_EQ(job_phase("running"), "Running");

  // Both cordoned: a job waits, saying why, instead of failing Unschedulable.
  ASSERT_EQ(cadre("cordon " + other).exit_code, 0);
  ASSERT_EQ(apply(shell_job("waits", "true")).exit_code, 0);
  ASSERT_TRUE(eventually(
      [&] {
        return get_json("jobs waits").value("message", "").find("cordoned") != std::string::npos;
      },
      5s))
      << get_json("jobs waits").dump();

  kill9_and_restart_coordinator();
  ASSERT_TRUE(
      eventually([&] { return node_state(busy) == "Ready" && node_state(other) == "Ready"; }, 10s));
  EXPECT_TRUE(unschedulable(busy));
  EXPECT_TRUE(unschedulable(other));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(job_phase("waits"), "Queued");
  EXPECT_EQ(job_phase("running"), "Running");

  auto uncordoned = cadre("uncordon " + busy);
  EXPECT_EQ(uncordoned.output, "node/" + busy + " uncordoned\n");
  ASSERT_EQ(cadre("wait job/waits --for Succeeded --timeout 30").exit_code, 0);
  EXPECT_EQ(get_json("jobs waits")["node"], busy);
  EXPECT_FALSE(unschedulable(busy));
}

TEST_F(NodeMaintenance, ADrainMovesARunningGangToTheOtherNodeWithoutCountingARestart) {
  ASSERT_EQ(apply("apiVersion: cadre/v1\nkind: TrainJob\nmetadata: {name: pair}\nspec:\n"
                  "  runPolicy: {backoffLimit: 0}\n  replicaSpecs:\n    Worker:\n"
                  "      replicas: 2\n      restartPolicy: Never\n      template:\n"
                  "        command: [sleep, '600']\n        resources: {cpu: 0.5}\n")
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] { return get_json("trainjobs pair")["phase"] == "Running"; }, 10s));
  const std::string from = get_json("trainjobs pair")["replicas"][0]["node"];
  const std::string to = from == "local-1" ? "local-2" : "local-1";

  auto drained = cadre("drain " + from + " --timeout 60s");
  ASSERT_EQ(drained.exit_code, 0) << drained.output;
  // What it waited for is named by job while the job still places it there, by uid
  // once only the agent's heartbeat still reports it; a gang that moved before the
  // first look (a SIGTERM ends `sleep` at once) leaves nothing to wait for.
  EXPECT_EQ(drained.output.rfind("node/" + from + " cordoned\n", 0), 0u) << drained.output;
  const std::string end = "node/" + from + " drained\n";
  ASSERT_GE(drained.output.size(), end.size()) << drained.output;
  EXPECT_EQ(drained.output.substr(drained.output.size() - end.size()), end) << drained.output;
  std::istringstream lines(drained.output);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.rfind("node/", 0) == 0 || line.rfind("evicting ", 0) == 0) << line;
  }
  EXPECT_TRUE(unschedulable(from));
  EXPECT_EQ(get_json("nodes " + from)["replicas"].size(), 0u);

  // Placed again, whole, on the other node; a backoffLimit of 0 was not spent.
  ASSERT_TRUE(eventually(
      [&] {
        auto pair = get_json("trainjobs pair");
        return pair["phase"] == "Running" && pair["replicas"][0]["node"] == to &&
               pair["replicas"][1]["node"] == to;
      },
      15s))
      << get_json("trainjobs pair").dump();
  EXPECT_EQ(get_json("trainjobs pair")["restarts"], 0);
  EXPECT_NE(cadre("describe trainjob pair").output.find("Evicted"), std::string::npos);
}

TEST_F(NodeMaintenance, AJobSelectingANodesLabelsRunsThereAndOneNoNodeHasFailsAtOnce) {
  // The second agent comes back labelled, as a GPU node's would be configured.
  kill9_and_restart("agent-2", "--label gpu=h200");
  ASSERT_TRUE(eventually(
      [&] { return get_json("nodes local-2")["labels"].value("gpu", "") == "h200"; }, 10s));
  for (const std::string name : {"picky-1", "picky-2"}) {
    ASSERT_EQ(apply(shell_job(name, "true") + "    nodeSelector: {gpu: h200}\n").exit_code, 0);
    ASSERT_EQ(cadre("wait job/" + name + " --for Succeeded --timeout 30").exit_code, 0);
    EXPECT_EQ(get_json("jobs " + name)["node"], "local-2") << name;
  }
  ASSERT_EQ(apply(shell_job("nowhere", "true") + "    nodeSelector: {gpu: b200}\n").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return job_phase("nowhere") == "Failed"; }, 10s));
  EXPECT_EQ(get_json("jobs nowhere")["reason"], "Unschedulable");
  EXPECT_NE(get_json("jobs nowhere")["message"].get<std::string>().find("gpu=b200"),
            std::string::npos);
}

TEST_F(NodeMaintenance, OnlyAKeyForTheWholeClusterCordonsAndAnUnknownNodeIsNotFound) {
  auto unknown = cadre("cordon gpu-9");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("node/gpu-9 not found"), std::string::npos) << unknown.output;

  // A key scoped to namespace team-a (docs/operations.md), allowed as a client.
  ASSERT_EQ(run_command(bin("cadre") + " keys generate --out " + path("team")).exit_code, 0);
  std::ofstream(path("coordinator/authorized/clients/team.pub"))
      << "public = " << read_file(path("team.pub")) << "namespace = team-a\n";
  std::string config = read_file(path("config"));
  const auto at = config.find("key: ", config.find("server_key:") + 11);
  config.replace(at, config.find('\n', at) - at, "key: " + path("team.key"));
  std::ofstream(path("team-config")) << config;

  // The allowlist is rescanned at most once a second: the key works within a few.
  CommandResult scoped;
  ASSERT_TRUE(eventually(
      [&] {
        scoped = run_command(bin("cadre") + " --config " + path("team-config") + " cordon local-1");
        return scoped.output.find("allowlist") == std::string::npos;
      },
      5s))
      << scoped.output;
  EXPECT_EQ(scoped.exit_code, 1);
  EXPECT_NE(scoped.output.find("belongs to the whole cluster"), std::string::npos) << scoped.output;
  EXPECT_FALSE(unschedulable("local-1"));
}

}  // namespace
}  // namespace cadre::testing

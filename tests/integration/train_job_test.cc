// TrainJobs on a real local cluster: gang admission, the environment contract with
// real training programs (cadre-train all-reduce and PS, PyTorch DDP), and failure
// handling — a killed agent, a killed coordinator, a frozen agent.
#include <signal.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

// One replica type of a TrainJob manifest.
std::string replica_spec(const std::string& type, int replicas, const std::string& command,
                         const std::string& args, const std::string& cpu = "500m",
                         const std::string& restart = "OnFailure") {
  return "    " + type + ":\n      replicas: " + std::to_string(replicas) +
         "\n      restartPolicy: " + restart + "\n      template:\n        command: " + command +
         "\n        args: " + args + "\n        resources: {cpu: " + cpu + ", memory: 1Gi}\n";
}

std::string train_job(const std::string& name, const std::string& replica_specs,
                      const std::string& run_policy = "    backoffLimit: 3\n") {
  return "apiVersion: cadre/v1\nkind: TrainJob\nmetadata:\n  name: " + name +
         "\nspec:\n  runPolicy:\n" + run_policy + "  replicaSpecs:\n" + replica_specs;
}

// cadre-train on a slice of Fashion-MNIST, one thread per rank.
std::string cadre_train(const std::string& extra, int epochs, int limit) {
  return "[--model, mlp, --epochs, \"" + std::to_string(epochs) + "\", --train-limit, \"" +
         std::to_string(limit) + "\", --threads, \"1\", --batch-size, \"64\"" + extra + "]";
}

class TrainJobs : public LocalCluster {
 protected:
  // Short node timeouts; the lease just below Lost so a coordinator restart (which
  // cannot ack heartbeats) stays well inside it.
  std::string coordinator_yaml() const override {
    return "not-ready-after-ms: 2000\nlost-after-ms: 5000\nlease-ms: 4000\n";
  }
  std::string up_flags() const override { return fixed_ports_flags(); }

  nlohmann::json trainjob(const std::string& name) const {
    auto result = cadre("get trainjobs " + name + " -o json");
    if (result.exit_code != 0) return {};
    try {
      return nlohmann::json::parse(result.output);
    } catch (...) {
      return {};
    }
  }
  std::string phase(const std::string& name) const { return trainjob(name).value("phase", ""); }
  CommandResult wait_for(const std::string& name, const std::string& phase, int seconds) const {
    return cadre("wait trainjob/" + name + " --for " + phase + " --timeout " +
                 std::to_string(seconds));
  }
  std::string logs(const std::string& name, const std::string& replica) const {
    return cadre("logs trainjob/" + name + " --replica " + replica).output;
  }
  int node_cpu_millis() const {
    return static_cast<int>(get_json("nodes")[0]["cpus"].get<double>() * 1000);
  }
  // "hog" takes a whole node and runs; then "pair" asks for two whole nodes.
  void hog_one_node_then_ask_for_two() const {
    const std::string whole_node = std::to_string(node_cpu_millis()) + "m";
    const std::string sleeper = "[sh, -c]";
    ASSERT_EQ(
        apply(train_job("hog", replica_spec("Worker", 1, sleeper, "['sleep 600']", whole_node)))
            .exit_code,
        0);
    ASSERT_TRUE(eventually([&] { return phase("hog") == "Running"; }, 10s));
    ASSERT_EQ(
        apply(train_job("pair", replica_spec("Worker", 2, sleeper, "['sleep 600']", whole_node)))
            .exit_code,
        0);
  }
  int count_processes(const std::string& pattern) const {
    return std::atoi(run_command("pgrep -fc '" + pattern + "'").output.c_str());
  }
};

TEST_F(TrainJobs, TwoWorkerAllReduceTrainingSucceedsWithItsAccuracyInGet) {
  ASSERT_EQ(apply(train_job("ring", replica_spec("Worker", 2, "[cadre-train]",
                                                 cadre_train(", --backend, ring", 1, 6000))))
                .exit_code,
            0);
  auto waited = wait_for("ring", "Succeeded", 120);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << logs("ring", "worker-0")
                                 << logs("ring", "worker-1");
  // The job succeeds when worker 0 does (Kubeflow's success policy) and stops the
  // rest; rank 1's own exit may come a moment later.
  nlohmann::json job;
  const auto settled = [&] {
    job = trainjob("ring");
    for (const auto& replica : job.value("replicas", nlohmann::json::array())) {
      if (replica["state"] == "Terminating") return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually(settled, 10s)) << job;
  EXPECT_GT(job["metrics"]["accuracy"].get<double>(), 0.5);
  ASSERT_EQ(job["replicas"].size(), 2u);
  for (const auto& replica : job["replicas"]) {
    EXPECT_EQ(replica["state"], "Succeeded") << replica;
    EXPECT_GE(replica["port"].get<int>(), 31000) << replica;
  }
  EXPECT_EQ(job["restarts"], 0);
  // A ring of two cannot finish without rank 1, which succeeded too (checked above).
  // Listing filters by kind.
  EXPECT_TRUE(get_json("jobs").empty());
  EXPECT_EQ(get_json("trainjobs").size(), 1u);
  // Asked for as a Job, it is not one, and the answer says what it is.
  const auto as_job = cadre("describe job/ring");
  EXPECT_NE(as_job.exit_code, 0);
  EXPECT_NE(as_job.output.find("job/ring not found; trainjob/ring is"), std::string::npos)
      << as_job.output;
}

TEST_F(TrainJobs, ParameterServerJobSucceeds) {
  const std::string args = cadre_train(", --mode, ps, --ps-sync, sync", 1, 6000);
  ASSERT_EQ(apply(train_job("ps", replica_spec("PS", 1, "[cadre-train]", args) +
                                      replica_spec("Worker", 2, "[cadre-train]", args)))
                .exit_code,
            0);
  auto waited = wait_for("ps", "Succeeded", 120);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << logs("ps", "ps-0") << logs("ps", "worker-0");
  auto job = trainjob("ps");
  EXPECT_GT(job["metrics"]["accuracy"].get<double>(), 0.5);
  EXPECT_EQ(job["replicas"][0]["name"], "ps-0");  // parameter servers rank first
  // The server, stopped once the workers succeeded, did not fail.
  ASSERT_TRUE(
      eventually([&] { return trainjob("ps")["replicas"][0]["state"] != "Terminating"; }, 10s));
  job = trainjob("ps");
  EXPECT_NE(job["replicas"][0]["state"], "Failed") << job["replicas"][0];
  EXPECT_EQ(job["replicaStatuses"]["PS"]["failed"], 0) << job["replicaStatuses"];

  // Every replica's log at once, each line under its replica's name.
  auto all = cadre("logs trainjob/ps --all-replicas");
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_NE(all.output.find("[ps-0] "), std::string::npos) << all.output;
  EXPECT_NE(all.output.find("[worker-0] epoch=1 "), std::string::npos) << all.output;
  std::istringstream lines(all.output);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.rfind("[ps-0] ", 0) == 0 || line.rfind("[worker-0] ", 0) == 0 ||
                line.rfind("[worker-1] ", 0) == 0)
        << line;
  }
}

TEST_F(TrainJobs, PyTorchDdpScriptRunsUnmodifiedWithBothRanksReporting) {
  const std::string script = std::string(CADRE_SOURCE_DIR) + "/examples/pytorch-ddp.py";
  const std::string command = "[/usr/bin/python3, " + script + "]";
  ASSERT_EQ(apply(train_job("ddp", replica_spec("Master", 1, command, "[\"1\", \"6000\"]") +
                                       replica_spec("Worker", 1, command, "[\"1\", \"6000\"]")))
                .exit_code,
            0);
  auto waited = wait_for("ddp", "Succeeded", 180);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << logs("ddp", "master-0")
                                 << logs("ddp", "worker-0");
  EXPECT_NE(logs("ddp", "master-0").find("rank=0 world_size=2"), std::string::npos);
  EXPECT_NE(logs("ddp", "worker-0").find("rank=1 world_size=2"), std::string::npos);
  EXPECT_NE(logs("ddp", "worker-0").find("rank=1 done"), std::string::npos);
  EXPECT_GT(trainjob("ddp")["metrics"]["accuracy"].get<double>(), 0.5);
}

TEST_F(TrainJobs, MpiJobSucceedsWithRanksStartedThroughTheWorkers) {
  const std::string launcher_args =
      "[-np, \"2\", cadre-train, --backend, mpi, --model, mlp, --epochs, \"1\", "
      "--train-limit, \"6000\", --threads, \"1\"]";
  ASSERT_EQ(
      apply(train_job("mpi",
                      replica_spec("Launcher", 1, "[mpirun]", launcher_args, "500m", "Never") +
                          replica_spec("Worker", 2, "[cadre-rsh]", "[serve]", "500m", "Never")))
          .exit_code,
      0);
  auto waited = wait_for("mpi", "Succeeded", 180);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << logs("mpi", "launcher-0")
                                 << logs("mpi", "worker-0");
  auto job = trainjob("mpi");
  EXPECT_GT(job["metrics"]["accuracy"].get<double>(), 0.5);  // rank 0's lines, via mpirun
  // Each worker's serve ran an orted session for its rank.
  EXPECT_NE(logs("mpi", "worker-0").find("orted"), std::string::npos) << logs("mpi", "worker-0");
  EXPECT_NE(logs("mpi", "worker-1").find("orted"), std::string::npos) << logs("mpi", "worker-1");
  // The Workers, stopped once the Launcher succeeded, neither failed nor succeeded.
  ASSERT_TRUE(eventually(
      [&] {
        const auto replicas = trainjob("mpi")["replicas"];
        return std::all_of(replicas.begin(), replicas.end(),
                           [](const auto& r) { return r["state"] != "Terminating"; });
      },
      10s));
  job = trainjob("mpi");
  for (const auto& r : job["replicas"]) {
    if (r["name"] != "launcher-0") {
      EXPECT_EQ(r["state"], "Stopped") << r;
    }
  }
  EXPECT_EQ(job["replicaStatuses"]["Worker"]["succeeded"], 0) << job["replicaStatuses"];
  EXPECT_EQ(job["replicaStatuses"]["Launcher"]["succeeded"], 1) << job["replicaStatuses"];
}

TEST_F(TrainJobs, GangLargerThanFreeCapacityQueuesSayingWhyWithNothingStartedAndStartsWhenFreed) {
  // Two whole nodes' worth while one node is taken: all or nothing, so nothing.
  ASSERT_NO_FATAL_FAILURE(hog_one_node_then_ask_for_two());
  // After a second of waiting its status says why: what it needs, what is free.
  ASSERT_TRUE(eventually(
      [&] { return trainjob("pair").value("message", "").find("waiting for capacity") == 0; }, 5s))
      << trainjob("pair");
  auto pair = trainjob("pair");
  EXPECT_EQ(pair["phase"], "Queued");
  for (const auto& replica : pair["replicas"]) {
    EXPECT_EQ(replica["state"], "Pending") << replica;
    EXPECT_EQ(replica.value("node", ""), "") << replica;
  }
  const std::string message = pair["message"];
  EXPECT_NE(message.find("its 2 replicas start together and need cpu=" +
                         std::to_string(2 * node_cpu_millis() / 1000)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("free now: "), std::string::npos) << message;
  const auto described = cadre("describe trainjob pair");
  EXPECT_TRUE(
      std::regex_search(described.output, std::regex("Normal +Queued +waiting for capacity")))
      << described.output;
  ASSERT_EQ(cadre("delete trainjob/hog").exit_code, 0);
  ASSERT_EQ(wait_for("pair", "Running", 20).exit_code, 0) << trainjob("pair");
  EXPECT_EQ(trainjob("pair").value("message", "").find("waiting"), std::string::npos);
}

TEST_F(TrainJobs, GangThatNoNodeCouldHoldFailsUnschedulableAtOnce) {
  ASSERT_EQ(
      apply(train_job("huge", replica_spec("Worker", 2, "[cadre-train]", "[]", "1000"))).exit_code,
      0);
  ASSERT_EQ(wait_for("huge", "Failed", 5).exit_code, 0);
  auto job = trainjob("huge");
  EXPECT_EQ(job["reason"], "Unschedulable");
  EXPECT_NE(job["message"].get<std::string>().find("worker-"), std::string::npos) << job;
  // Its replicas never ran: following their logs ends at once, empty.
  for (const std::string how : {"--replica worker-1 -f", "--all-replicas -f"}) {
    auto followed = run_command("timeout 10 " + bin("cadre") + " --config " + path("config") +
                                " logs trainjob/huge " + how);
    EXPECT_EQ(followed.exit_code, 0) << how << ": " << followed.output;
    EXPECT_EQ(followed.output, "") << how;
  }
  auto unknown = cadre("logs trainjob/huge --replica worker-7");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("replica worker-7 of trainjob/huge not found"), std::string::npos)
      << unknown.output;
}

TEST_F(TrainJobs, KilledAgentMidTrainingRestartsTheGangWhichResumesFromItsCheckpoint) {
  ASSERT_EQ(apply(train_job("resume", replica_spec("Worker", 2, "[cadre-train]",
                                                   cadre_train(", --backend, ring", 6, 30000))))
                .exit_code,
            0);
  // Wait for a checkpoint on the shared checkpoint root, then kill its node's agent.
  const std::string checkpoints = path("state/checkpoints/default/resume");
  auto checkpointed = [&] {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(checkpoints, ec)) {
      if (entry.path().filename().string().rfind("ckpt-", 0) == 0) return true;
    }
    return false;
  };
  ASSERT_TRUE(eventually(checkpointed, 60s)) << logs("resume", "worker-0");
  const auto before = trainjob("resume");
  const std::string node = before["replicas"][0]["node"];
  ASSERT_EQ(::kill(pid_of(node == "local-1" ? "agent-1" : "agent-2"), SIGKILL), 0);

  auto waited = wait_for("resume", "Succeeded", 120);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << trainjob("resume").dump(2);
  auto job = trainjob("resume");
  EXPECT_GE(job["restarts"].get<int>(), 1);
  for (const auto& replica : job["replicas"]) {
    EXPECT_NE(replica["node"], node) << replica;  // moved to the surviving node
  }
  const std::string log = logs("resume", "worker-0");
  // The new instance resumed: its first epoch line is past the checkpoint, not epoch 1.
  EXPECT_EQ(log.find("epoch=1 "), std::string::npos) << log;
  EXPECT_NE(log.find("epoch=6 "), std::string::npos) << log;
}

TEST_F(TrainJobs, CoordinatorKilledMidTrainingAdoptsTheGangAndNothingStartsTwice) {
  ASSERT_EQ(apply(train_job("adopt", replica_spec("Worker", 2, "[cadre-train]",
                                                  cadre_train(", --backend, ring", 3, 30000))))
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] { return phase("adopt") == "Running"; }, 30s));
  const auto before = trainjob("adopt");
  kill9_and_restart_coordinator();
  auto waited = wait_for("adopt", "Succeeded", 120);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << trainjob("adopt").dump(2);
  auto job = trainjob("adopt");
  EXPECT_EQ(job["restarts"], 0);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(job["replicas"][i]["uid"], before["replicas"][i]["uid"]);  // the same instances
    EXPECT_EQ(job["replicas"][i]["restarts"], 0);
  }
  EXPECT_NE(logs("adopt", "worker-0").find("epoch=1 "), std::string::npos);  // never restarted
}

TEST_F(TrainJobs, AgentFrozenPastTheLeaseFindsItsReplicasKilledAndNoRankRunsTwice) {
  const std::string marker = "sleep 900." + std::to_string(::getpid());
  const std::string pattern = "[s]" + marker.substr(1);
  ASSERT_EQ(
      apply(train_job("frozen", replica_spec("Worker", 2, "[sh, -c]", "['exec " + marker + "']")))
          .exit_code,
      0);
  ASSERT_TRUE(eventually([&] { return phase("frozen") == "Running"; }, 10s));
  ASSERT_EQ(count_processes(pattern), 2);
  const std::string node = trainjob("frozen")["replicas"][0]["node"];
  const int agent = pid_of(node == "local-1" ? "agent-1" : "agent-2");
  ASSERT_EQ(::kill(agent, SIGSTOP), 0);
  // Until the gang runs again elsewhere, never more than one process per rank.
  int most = 0;
  const bool restarted = eventually(
      [&] {
        most = std::max(most, count_processes(pattern));
        auto job = trainjob("frozen");
        return job.value("phase", "") == "Running" && job.value("restarts", 0) >= 1;
      },
      20s);
  ::kill(agent, SIGCONT);
  ASSERT_TRUE(restarted) << trainjob("frozen").dump(2);
  EXPECT_LE(most, 2);
  for (const auto& replica : trainjob("frozen")["replicas"]) EXPECT_NE(replica["node"], node);
  // Back from the freeze, the agent re-registers; its old replicas are long dead.
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& n : get_json("nodes")) {
          if (n["name"] == node && n["state"] == "Ready") return true;
        }
        return false;
      },
      15s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(count_processes(pattern), 2);
  EXPECT_EQ(phase("frozen"), "Running");
  ASSERT_EQ(cadre("delete trainjob/frozen").exit_code, 0);
  EXPECT_TRUE(eventually([&] { return count_processes(pattern) == 0; }, 15s));
}

// Lost only well after a restart, so a frozen agent can be thawed in time.
class TrainJobsAcrossARestart : public TrainJobs {
 protected:
  std::string coordinator_yaml() const override {
    return "not-ready-after-ms: 2000\nlost-after-ms: 12000\nlease-ms: 10000\n";
  }
};

TEST_F(TrainJobsAcrossARestart,
       AQueuedGangNeedingEveryNodeWaitsForAnAgentNotYetBackInsteadOfFailing) {
  ASSERT_NO_FATAL_FAILURE(hog_one_node_then_ask_for_two());
  ASSERT_EQ(phase("pair"), "Queued");
  // Freeze the agent without the hog, then restart the coordinator: the hog's node
  // registers again at once, the frozen one does not.
  const std::string hog_node = trainjob("hog")["replicas"][0]["node"];
  const std::string away = hog_node == "local-1" ? "local-2" : "local-1";
  const int agent = pid_of(away == "local-1" ? "agent-1" : "agent-2");
  ASSERT_EQ(::kill(agent, SIGSTOP), 0);
  kill9_and_restart_coordinator();
  const bool back = eventually([&] { return node_state(hog_node) == "Ready"; }, 10s);
  std::this_thread::sleep_for(1s);  // the restored queue has met the one node that is back
  const std::string away_state = node_state(away);
  const auto pair = trainjob("pair");
  ::kill(agent, SIGCONT);
  ASSERT_TRUE(back);
  // The restarted coordinator remembers the node that is away and counts it: the
  // pair still fits the cluster, so it waits instead of failing Unschedulable.
  EXPECT_EQ(away_state, "NotReady");
  EXPECT_EQ(pair.value("phase", ""), "Queued") << pair.dump(2);
  ASSERT_TRUE(eventually([&] { return node_state(away) == "Ready"; }, 10s));
  ASSERT_EQ(cadre("delete trainjob/hog").exit_code, 0);
  ASSERT_EQ(wait_for("pair", "Running", 20).exit_code, 0) << trainjob("pair").dump(2);
  // The delete completes only with the thawed agent's exit report: its link to the
  // restarted coordinator carries messages both ways (a monitor left on the old
  // socket once stalled it until the agent exited).
  ASSERT_EQ(cadre("delete trainjob/pair").exit_code, 0);
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(node_state(away), "Ready");
}

}  // namespace
}  // namespace cadre::testing

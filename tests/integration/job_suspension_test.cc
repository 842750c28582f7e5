// Suspending and resuming jobs (cadre suspend / resume, runPolicy.suspend), and
// preemption by a higher priority, on a real local cluster: the nodes are freed for
// other work, the suspension survives a coordinator kill -9, and the resumed or
// requeued gang continues from its checkpoints.
#include <string>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

// Fixed ports: the coordinator is restarted where agents and clients expect it.
class JobSuspension : public LocalCluster {
 protected:
  std::string up_flags() const override { return fixed_ports_flags(); }

  // Each worker counts steps into its checkpoint folder, resuming from the count there.
  static std::string counting_gang(const std::string& cpus) {
    return "apiVersion: cadre/v1\nkind: TrainJob\nmetadata: {name: pair}\nspec:\n"
           "  runPolicy: {backoffLimit: 0}\n  replicaSpecs:\n    Worker:\n"
           "      replicas: 2\n      restartPolicy: Never\n      template:\n"
           "        command: [sh, -c]\n        args:\n          - |\n"
           "            f=\"$CADRE_CHECKPOINT_DIR/step-$CADRE_RANK\"\n"
           "            n=$(cat \"$f\" 2>/dev/null || echo 0)\n"
           "            echo \"resumed from step $n\"\n"
           "            while true; do n=$((n+1)); echo \"$n\" > \"$f\"; echo \"step=$n\"; "
           "sleep 0.2; done\n"
           "        resources: {cpu: " +
           cpus + "}\n";
  }

  // One worker taking `cpus`, echoing and exiting, with the given schedulingPolicy.
  static std::string one_worker(const std::string& name, const std::string& cpus,
                                const std::string& scheduling) {
    return "apiVersion: cadre/v1\nkind: TrainJob\nmetadata: {name: " + name +
           "}\nspec:\n  runPolicy:\n    schedulingPolicy: " + scheduling +
           "\n  replicaSpecs:\n    Worker:\n      replicas: 1\n      template:\n"
           "        command: [echo, " +
           name + " ran]\n        resources: {cpu: " + cpus + "}\n";
  }

  double step_of(const std::string& trainjob) const {
    return get_json("trainjobs " + trainjob)["metrics"].value("step", 0.0);
  }
};

TEST_F(JobSuspension, ASuspendedGangFreesItsNodesAndResumesFromItsCheckpointsAfterARestart) {
  // Each worker takes a whole node, so nothing else fits while the gang runs.
  const std::string cpus = std::to_string(get_json("nodes local-1")["cpus"].get<double>());
  ASSERT_EQ(apply(counting_gang(cpus)).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return step_of("pair") >= 3; }, 15s))
      << get_json("trainjobs pair").dump();
  ASSERT_EQ(
      apply(shell_job("urgent", "echo done") + "    resources: {cpu: " + cpus + "}\n").exit_code,
      0);
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(job_phase("urgent"), "Queued");

  auto suspended = cadre("suspend trainjob/pair");
  ASSERT_EQ(suspended.exit_code, 0) << suspended.output;
  EXPECT_EQ(suspended.output, "trainjob/pair suspended\n");
  EXPECT_EQ(cadre("suspend trainjob pair").output, "trainjob/pair already suspended\n");
  ASSERT_EQ(cadre("wait job/urgent --for Succeeded --timeout 30").exit_code, 0)
      << get_json("jobs urgent").dump();
  // urgent needed one node: the other worker may still be reporting its end.
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& replica : get_json("trainjobs pair")["replicas"]) {
          if (replica["state"] != "Stopped") return false;
        }
        return true;
      },
      15s))
      << get_json("trainjobs pair").dump();
  auto pair = get_json("trainjobs pair");
  EXPECT_EQ(pair["phase"], "Suspended");
  EXPECT_EQ(pair["restarts"], 0) << "a suspension is no restart";
  const double stopped_at = step_of("pair");

  // Kept across a coordinator kill -9: nothing of it is placed again.
  kill9_and_restart_coordinator();
  ASSERT_TRUE(eventually(
      [&] { return node_state("local-1") == "Ready" && node_state("local-2") == "Ready"; }, 10s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(get_json("trainjobs pair")["phase"], "Suspended");
  EXPECT_TRUE(get_json("nodes local-1")["replicas"].empty());
  EXPECT_TRUE(get_json("nodes local-2")["replicas"].empty());

  auto resumed = cadre("resume trainjob/pair");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(resumed.output, "trainjob/pair resumed\n");
  EXPECT_EQ(cadre("resume trainjob/pair").output, "trainjob/pair is not suspended\n");
  ASSERT_TRUE(eventually([&] { return step_of("pair") > stopped_at; }, 15s))
      << get_json("trainjobs pair").dump();
  // Rank 0 started again from the count its checkpoint held, not from zero.
  const std::string log = cadre("logs trainjob/pair").output;
  const auto at = log.find("resumed from step ");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_GE(std::stoi(log.substr(at + 18)), 3) << log;
  EXPECT_NE(cadre("describe trainjob/pair").output.find("Resumed"), std::string::npos);
}

TEST_F(JobSuspension, AHigherPriorityGangPreemptsALowerOneWhichThenResumesFromItsCheckpoints) {
  const std::string cpus = std::to_string(get_json("nodes local-1")["cpus"].get<double>());
  ASSERT_EQ(apply(counting_gang(cpus)).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return step_of("pair") >= 3; }, 15s))
      << get_json("trainjobs pair").dump();

  // A higher priority that may not preempt waits its turn.
  ASSERT_EQ(apply(one_worker("polite", cpus, "{priority: 5, preemptionPolicy: Never}")).exit_code,
            0);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(get_json("trainjobs polite")["phase"], "Queued");
  EXPECT_EQ(get_json("trainjobs pair")["phase"], "Running");

  ASSERT_EQ(apply(one_worker("urgent", cpus, "{priority: 5}")).exit_code, 0);
  ASSERT_EQ(cadre("wait trainjob/urgent --for Succeeded --timeout 30").exit_code, 0)
      << get_json("trainjobs urgent").dump() << get_json("trainjobs pair").dump();
  EXPECT_EQ(cadre("logs trainjob/urgent").output, "urgent ran\n");
  const std::string described = cadre("describe trainjob/pair").output;
  EXPECT_NE(described.find("preempted by job urgent (priority 5, above its 0)"), std::string::npos)
      << described;
  const double stopped_at = step_of("pair");

  // Once the higher priorities are done, the gang is placed again and carries on.
  ASSERT_EQ(cadre("wait trainjob/polite --for Succeeded --timeout 30").exit_code, 0)
      << get_json("trainjobs polite").dump();
  ASSERT_TRUE(eventually([&] { return step_of("pair") > stopped_at + 2; }, 20s))
      << get_json("trainjobs pair").dump();
  auto pair = get_json("trainjobs pair");
  EXPECT_EQ(pair["phase"], "Running");
  EXPECT_EQ(pair["restarts"], 0) << "a preemption is not counted against backoffLimit";
  const std::string log = cadre("logs trainjob/pair").output;
  const auto at = log.find("resumed from step ");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_GE(std::stoi(log.substr(at + 18)), 3) << log;
}

TEST_F(JobSuspension, AJobCreatedSuspendedWaitsForResumeAndAFinishedOrOwnedJobRefuses) {
  ASSERT_EQ(apply(shell_job("later", "echo ran", "  suspend: true\n  activeDeadlineSeconds: 3\n"))
                .exit_code,
            0);
  std::this_thread::sleep_for(4s);  // past the deadline: it runs from the resume
  auto later = get_json("jobs later");
  EXPECT_EQ(later["phase"], "Suspended") << later.dump();
  EXPECT_EQ(later.value("node", ""), "");
  // Any other change is refused; suspend may change, as with kubectl apply.
  auto changed = apply(shell_job("later", "echo other", "  suspend: false\n"));
  EXPECT_EQ(changed.exit_code, 1);
  EXPECT_NE(changed.output.find("jobs are immutable but for spec.suspend"), std::string::npos)
      << changed.output;
  const std::string resumed =
      shell_job("later", "echo ran", "  suspend: false\n  activeDeadlineSeconds: 3\n");
  auto configured = apply(resumed);
  ASSERT_EQ(configured.exit_code, 0) << configured.output;
  EXPECT_EQ(configured.output, "job/later configured\n");
  EXPECT_EQ(apply(resumed).output, "job/later unchanged\n");
  ASSERT_EQ(cadre("wait job/later --for Succeeded --timeout 30").exit_code, 0)
      << get_json("jobs later").dump();
  EXPECT_EQ(cadre("logs job/later").output, "ran\n");

  auto finished = cadre("suspend job/later");
  EXPECT_EQ(finished.exit_code, 1);
  EXPECT_NE(finished.output.find("job/later has finished (Succeeded)"), std::string::npos)
      << finished.output;

  // A trial's job runs and stops as its experiment decides.
  ASSERT_EQ(apply("apiVersion: cadre/v1\nkind: Experiment\nmetadata: {name: tune}\nspec:\n"
                  "  objective: {type: minimize, objectiveMetricName: loss}\n"
                  "  algorithm: {algorithmName: random}\n  maxTrialCount: 1\n"
                  "  parameters:\n    - name: lr\n      parameterType: double\n"
                  "      feasibleSpace: {min: '0.1', max: '0.2'}\n"
                  "  trialTemplate:\n    trialParameters:\n"
                  "      - {name: lr, reference: lr}\n    trialSpec:\n      kind: Job\n"
                  "      spec:\n        template:\n          command: [sh, -c]\n"
                  "          args: ['echo lr=${trialParameters.lr}; sleep 30; echo loss=0.5']\n")
                .exit_code,
            0);
  std::string trial_job;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& job : get_json("jobs")) {
          if (job.value("owner", "") == "experiment/tune") trial_job = job["name"];
        }
        return !trial_job.empty();
      },
      15s));
  auto owned = cadre("suspend job/" + trial_job);
  EXPECT_EQ(owned.exit_code, 1);
  EXPECT_NE(owned.output.find("belongs to experiment/tune, which starts and stops it"),
            std::string::npos)
      << owned.output;
}

}  // namespace
}  // namespace cadre::testing

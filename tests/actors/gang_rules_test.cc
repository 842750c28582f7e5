#include "actors/gang_rules.h"

#include <gtest/gtest.h>

namespace cadre::actors::gang_rules_test {
namespace {

using Verdict = ExitDecision::Verdict;
using protocol::ReplicaState;
constexpr auto kSucceeded = ReplicaState::kSucceeded;
constexpr auto kFailed = ReplicaState::kFailed;

spec::TrainJobSpec train_job(std::vector<std::pair<std::string, int>> types,
                             spec::RestartPolicy policy = spec::RestartPolicy::kOnFailure) {
  spec::TrainJobSpec s;
  s.metadata.name = "t";
  for (const auto& [type, count] : types) {
    spec::ReplicaSpec rs;
    rs.type = type;
    rs.replicas = count;
    rs.restart_policy = policy;
    rs.tmpl.command = {"true"};
    s.replica_specs.push_back(rs);
  }
  s.run_policy.backoff_limit = 2;
  return s;
}

std::vector<protocol::ReplicaStatus> ended(const spec::TrainJobSpec& s, const std::string& name,
                                           ReplicaState state, int code,
                                           const std::string& reason = "") {
  auto replicas = initial_replicas(s);
  for (auto& r : replicas) {
    r.state = ReplicaState::kRunning;
    if (r.name == name) {
      r.state = state;
      r.exit_code = code;
      r.reason = reason.empty() ? (code == 0 ? "Completed" : "Error") : reason;
    }
  }
  return replicas;
}

size_t index_of(const std::vector<protocol::ReplicaStatus>& replicas, const std::string& name) {
  for (size_t i = 0; i < replicas.size(); ++i) {
    if (replicas[i].name == name) return i;
  }
  return replicas.size();
}

ExitDecision decide(const spec::TrainJobSpec& s, const std::string& name, ReplicaState state,
                    int code, int restarts = 0, const std::string& reason = "",
                    int port_retries = 0) {
  auto replicas = ended(s, name, state, code, reason);
  return decide_after_exit(s, replicas, index_of(replicas, name), restarts, port_retries);
}

TEST(GangRules, RanksFollowTypeOrderPsFirstThenChiefWorkersEvaluator) {
  // Declared out of order; ranks come out canonical.
  auto s = train_job({{"Worker", 2}, {"Evaluator", 1}, {"PS", 1}, {"Chief", 1}});
  s.replica_specs = {s.replica_specs[2], s.replica_specs[3], s.replica_specs[0],
                     s.replica_specs[1]};
  auto replicas = initial_replicas(s);
  std::vector<std::string> names;
  for (const auto& r : replicas) {
    names.push_back(r.name);
    EXPECT_EQ(r.rank, static_cast<int>(names.size()) - 1);
    EXPECT_EQ(r.state, ReplicaState::kPending);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"ps-0", "chief-0", "worker-0", "worker-1", "evaluator-0"}));
}

TEST(GangRules, OnlyJobsWithoutParameterServersRestartAsAGang) {
  EXPECT_TRUE(restarts_as_gang(train_job({{"Worker", 2}})));
  EXPECT_TRUE(restarts_as_gang(train_job({{"Launcher", 1}, {"Worker", 2}})));
  EXPECT_FALSE(restarts_as_gang(train_job({{"PS", 1}, {"Worker", 2}})));
}

TEST(GangRules, WorkerZeroDecidesWithoutAChiefAndOthersFinishingDoNot) {
  auto s = train_job({{"Worker", 3}});
  EXPECT_EQ(decide(s, "worker-1", kSucceeded, 0).verdict, Verdict::kNone);
  EXPECT_EQ(decide(s, "worker-0", kSucceeded, 0).verdict, Verdict::kSucceeded);
}

TEST(GangRules, TheChiefOrMasterDecidesWhenPresent) {
  auto s = train_job({{"Chief", 1}, {"Worker", 2}});
  EXPECT_EQ(decide(s, "worker-0", kSucceeded, 0).verdict, Verdict::kNone);
  EXPECT_EQ(decide(s, "chief-0", kSucceeded, 0).verdict, Verdict::kSucceeded);
  auto m = train_job({{"Master", 1}, {"Worker", 1}});
  EXPECT_EQ(decide(m, "master-0", kSucceeded, 0).verdict, Verdict::kSucceeded);
  auto mpi = train_job({{"Launcher", 1}, {"Worker", 2}});
  EXPECT_EQ(decide(mpi, "worker-0", kSucceeded, 0).verdict, Verdict::kNone);
  EXPECT_EQ(decide(mpi, "launcher-0", kSucceeded, 0).verdict, Verdict::kSucceeded);
}

TEST(GangRules, AllWorkersPolicyWaitsForEveryWorker) {
  auto s = train_job({{"PS", 1}, {"Worker", 2}});
  s.success_policy = spec::SuccessPolicy::kAllWorkers;
  auto replicas = ended(s, "worker-0", kSucceeded, 0);
  EXPECT_FALSE(job_succeeded(s, replicas));
  replicas[index_of(replicas, "worker-1")].state = kSucceeded;
  EXPECT_TRUE(job_succeeded(s, replicas));  // the PS still running does not matter
}

TEST(GangRules, NeverFailsTheJobOnAnyFailureWithTheReplicasReason) {
  auto s = train_job({{"Worker", 2}}, spec::RestartPolicy::kNever);
  auto d = decide(s, "worker-1", kFailed, 3);
  EXPECT_EQ(d.verdict, Verdict::kFail);
  EXPECT_EQ(d.reason, "Error");
}

TEST(GangRules, OnFailureRestartsCollectivesAsAGangAndPsJobsInPlace) {
  EXPECT_EQ(decide(train_job({{"Worker", 2}}), "worker-1", kFailed, 1).verdict,
            Verdict::kRestartGang);
  EXPECT_EQ(decide(train_job({{"PS", 1}, {"Worker", 2}}), "worker-1", kFailed, 1).verdict,
            Verdict::kRestartReplica);
}

TEST(GangRules, ALostNodeMovesEvenAPsJobAsAWhole) {
  auto s = train_job({{"PS", 1}, {"Worker", 2}});
  EXPECT_EQ(decide(s, "ps-0", kFailed, 0, 0, "NodeLost").verdict, Verdict::kRestartGang);
}

TEST(GangRules, ExitCodePolicyRetriesSignalsAndLostNodesButNotProgramErrors) {
  auto s = train_job({{"Worker", 2}}, spec::RestartPolicy::kExitCode);
  EXPECT_EQ(decide(s, "worker-0", kFailed, 137).verdict, Verdict::kRestartGang);
  EXPECT_EQ(decide(s, "worker-0", kFailed, 128).verdict, Verdict::kRestartGang);
  EXPECT_EQ(decide(s, "worker-0", kFailed, 255).verdict, Verdict::kRestartGang);
  EXPECT_EQ(decide(s, "worker-0", kFailed, 127).verdict, Verdict::kFail);
  EXPECT_EQ(decide(s, "worker-0", kFailed, 1).verdict, Verdict::kFail);
  EXPECT_EQ(decide(s, "worker-0", kFailed, 0, 0, "NodeLost").verdict, Verdict::kRestartGang);
}

TEST(GangRules, AlwaysRestartsEvenAfterSuccessUnlessTheJobSucceeded) {
  auto s = train_job({{"PS", 1}, {"Worker", 1}}, spec::RestartPolicy::kAlways);
  EXPECT_EQ(decide(s, "ps-0", kSucceeded, 0).verdict, Verdict::kRestartReplica);
  EXPECT_EQ(decide(s, "worker-0", kSucceeded, 0).verdict, Verdict::kSucceeded);
}

TEST(GangRules, BackoffLimitCountsRestartsAndEndsTheJob) {
  auto s = train_job({{"Worker", 2}});  // backoffLimit 2
  EXPECT_EQ(decide(s, "worker-0", kFailed, 1, 1).verdict, Verdict::kRestartGang);
  auto d = decide(s, "worker-0", kFailed, 1, 2);
  EXPECT_EQ(d.verdict, Verdict::kFail);
  EXPECT_EQ(d.reason, "BackoffLimitExceeded");
  // A launch lost with a restarted coordinator is retried for free.
  auto lost = decide(s, "worker-0", kFailed, 0, 2, "LaunchLost");
  EXPECT_EQ(lost.verdict, Verdict::kRestartGang);
  EXPECT_FALSE(lost.counts);
}

TEST(GangRules, AJobIsOneMainReplicaThatNeverRestarts) {
  spec::JobSpec job;
  job.metadata.name = "hello";
  job.replica.command = {"true"};
  auto s = spec::to_train_job(job);
  auto replicas = initial_replicas(s);
  ASSERT_EQ(replicas.size(), 1u);
  EXPECT_EQ(replicas[0].name, "main-0");
  EXPECT_EQ(decide(s, "main-0", kSucceeded, 0).verdict, Verdict::kSucceeded);
  EXPECT_EQ(decide(s, "main-0", kFailed, 3).verdict, Verdict::kFail);
  EXPECT_EQ(decide(s, "main-0", kFailed, 0, 0, "NodeLost").verdict, Verdict::kFail);
}

TEST(GangRules, ALaunchThatNeverRanIsPlacedAgainFreeWhateverThePolicy) {
  for (auto policy : {spec::RestartPolicy::kNever, spec::RestartPolicy::kExitCode,
                      spec::RestartPolicy::kOnFailure}) {
    auto s = train_job({{"Worker", 2}}, policy);
    auto d = decide(s, "worker-1", kFailed, 0, 2, "LaunchLost");
    EXPECT_EQ(d.verdict, Verdict::kRestartGang) << spec::to_string(policy);
    EXPECT_FALSE(d.counts) << "the backoffLimit of 2 is already used up, and it still restarts";
  }
}

TEST(GangRules, ATakenPortIsPlacedAgainFreeAFewTimesThenCountsLikeAnyLostReplica) {
  spec::JobSpec job;
  job.metadata.name = "hello";
  job.replica.command = {"true"};
  auto plain = spec::to_train_job(job);  // restartPolicy Never
  for (int retries = 0; retries < kFreePortRetries; ++retries) {
    auto d = decide(plain, "main-0", kFailed, 127, 0, "PortInUse", retries);
    EXPECT_EQ(d.verdict, Verdict::kRestartGang) << retries;
    EXPECT_FALSE(d.counts) << retries;
  }
  auto held = decide(plain, "main-0", kFailed, 127, 0, "PortInUse", kFreePortRetries);
  EXPECT_EQ(held.verdict, Verdict::kFail);
  EXPECT_EQ(held.reason, "PortInUse");
  auto gang = train_job({{"Worker", 2}}, spec::RestartPolicy::kOnFailure);
  auto counted = decide(gang, "worker-1", kFailed, 127, 0, "PortInUse", kFreePortRetries);
  EXPECT_EQ(counted.verdict, Verdict::kRestartGang);
  EXPECT_TRUE(counted.counts);
}

TEST(GangRules, ExitDescriptionsNameTheReplicaAndWhatHappened) {
  protocol::ReplicaStatus r;
  r.name = "worker-1";
  r.exit_code = 3;
  r.reason = "Error";
  EXPECT_EQ(describe_exit(r, 0, ""), "replica worker-1 exited with code 3");
  EXPECT_EQ(describe_exit(r, 9, ""), "replica worker-1 was killed by signal 9");
  r.reason = "NodeLost";
  EXPECT_EQ(describe_exit(r, 0, "node n2 stopped heartbeating"),
            "replica worker-1 lost (NodeLost): node n2 stopped heartbeating");
}

}  // namespace
}  // namespace cadre::actors::gang_rules_test

#include "client/json_output.h"

#include <gtest/gtest.h>

#include "tests/client/train_job_fixture.h"

namespace cadre::client {
namespace {

protocol::NodeStatus a_node() {
  protocol::NodeStatus node;
  node.name = "local-1";
  node.address = "127.0.0.1";
  node.state = protocol::NodeState::kReady;
  node.cpu_millis = 1500;
  node.memory_bytes = 8ll << 30;
  node.gpus = 2;
  node.allocated_cpu_millis = 500;
  node.allocated_memory_bytes = 1 << 20;
  node.allocated_gpus = 1;
  node.labels = {{"zone", "a"}};
  node.epoch = 7;
  return node;
}

protocol::JobStatus a_queued_job() {
  protocol::JobStatus job;
  job.name = "hello";
  job.kind = "Job";
  job.phase = protocol::JobPhase::kQueued;
  job.created_ms = 1714564800000;  // 2024-05-01T12:00:00Z
  return job;
}

TEST(NodeToJson, GivesCoresMemoryBytesAndGpusAsNumbers) {
  const auto json = node_to_json(a_node());
  EXPECT_EQ(json["name"], "local-1");
  EXPECT_EQ(json["state"], "Ready");
  EXPECT_DOUBLE_EQ(json["cpus"].get<double>(), 1.5);
  EXPECT_TRUE(json["memory"].is_number_integer());
  EXPECT_EQ(json["memory"].get<int64_t>(), 8ll << 30);
  EXPECT_EQ(json["gpus"], 2);
  EXPECT_EQ(json["address"], "127.0.0.1");
  EXPECT_EQ(json["labels"]["zone"], "a");
  EXPECT_DOUBLE_EQ(json["allocated"]["cpus"].get<double>(), 0.5);
  EXPECT_EQ(json["allocated"]["memory"], 1 << 20);
  EXPECT_EQ(json["allocated"]["gpus"], 1);
  EXPECT_EQ(json["epoch"], 7);
  EXPECT_TRUE(json["lastHeartbeat"].is_null());
}

TEST(QueueToJson, GivesQuotasWithNullForUnlimitedAndWhatTheQueueHolds) {
  protocol::QueueStatus queue;
  queue.name = "team-a";
  queue.cohort = "lab";
  queue.quota.cpu_millis = 4000;
  queue.borrowing_limit.cpu_millis = 500;
  queue.reclaim = "Any";
  queue.used_cpu_millis = 4500;
  queue.used_gpus = 1;
  queue.borrowing = true;
  queue.pending = 3;
  queue.admitted = 2;
  const auto json = queue_to_json(queue);
  EXPECT_EQ(json["name"], "team-a");
  EXPECT_EQ(json["cohort"], "lab");
  EXPECT_DOUBLE_EQ(json["quota"]["cpus"].get<double>(), 4.0);
  EXPECT_TRUE(json["quota"]["memory"].is_null());
  EXPECT_TRUE(json["quota"]["gpus"].is_null());
  EXPECT_DOUBLE_EQ(json["borrowingLimit"]["cpus"].get<double>(), 0.5);
  EXPECT_EQ(json["reclaimWithinCohort"], "Any");
  EXPECT_DOUBLE_EQ(json["used"]["cpus"].get<double>(), 4.5);
  EXPECT_EQ(json["used"]["gpus"], 1);
  EXPECT_EQ(json["borrowing"], true);
  EXPECT_EQ(json["pending"], 3);
  EXPECT_EQ(json["admitted"], 2);
}

TEST(JobToJson, HasEveryDocumentedKeyWithNullsUntilTheJobGetsThere) {
  const auto json = job_to_json(a_queued_job(), false);
  for (const char* key :
       {"name",     "namespace", "kind",    "phase",      "reason",    "message",        "exitCode",
        "node",     "replica",   "metrics", "createdAt",  "startedAt", "finishedAt",     "restarts",
        "priority", "queue",     "owner",   "conditions", "replicas",  "replicaStatuses"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_TRUE(json["exitCode"].is_null());
  EXPECT_TRUE(json["startedAt"].is_null());
  EXPECT_TRUE(json["finishedAt"].is_null());
  EXPECT_EQ(json["createdAt"], "2024-05-01T12:00:00Z");
  EXPECT_TRUE(json["metrics"].is_object());
  EXPECT_FALSE(json.contains("events"));
  EXPECT_FALSE(json.contains("manifest"));
}

TEST(JobToJson, ReportsExitCodeZeroAndLatestMetricsOnceExited) {
  auto job = a_queued_job();
  job.phase = protocol::JobPhase::kSucceeded;
  job.exit_code = 0;
  job.metrics = {{"accuracy", 0.5}};
  const auto json = job_to_json(job, false);
  ASSERT_TRUE(json["exitCode"].is_number_integer());
  EXPECT_EQ(json["exitCode"], 0);
  EXPECT_DOUBLE_EQ(json["metrics"]["accuracy"].get<double>(), 0.5);
}

TEST(JobToJson, AddsEventsAndManifestInDetail) {
  auto job = a_queued_job();
  job.events.push_back(
      {1714564801000, protocol::EventType::kNormal, "Scheduled", "placed on local-1"});
  job.manifest = "kind: Job\n";
  const auto json = job_to_json(job, true);
  ASSERT_EQ(json["events"].size(), 1u);
  EXPECT_EQ(json["events"][0]["reason"], "Scheduled");
  EXPECT_EQ(json["events"][0]["time"], "2024-05-01T12:00:01Z");
  EXPECT_EQ(json["manifest"], "kind: Job\n");
}

constexpr int64_t kNow = 1714564800000;  // 2024-05-01T12:00:00Z

TEST(JobToJson, GivesATrainJobItsConditionsReplicasCountsAndSchedulingFields) {
  const auto json = job_to_json(testing::a_ps_train_job(kNow), false);
  EXPECT_EQ(json["kind"], "TrainJob");
  EXPECT_EQ(json["restarts"], 1);
  EXPECT_EQ(json["priority"], 5);
  EXPECT_EQ(json["queue"], "research");
  ASSERT_EQ(json["conditions"].size(), 3u);
  EXPECT_EQ(json["conditions"][1],
            nlohmann::json({{"type", "Running"},
                            {"status", "True"},
                            {"reason", "GangScheduled"},
                            {"message", "all 3 replicas running"},
                            {"lastTransitionTime", "2024-05-01T11:59:30Z"}}));
  EXPECT_EQ(json["replicaStatuses"],
            nlohmann::json::parse(R"({"PS": {"active": 1, "succeeded": 0, "failed": 0},
                                      "Worker": {"active": 2, "succeeded": 0, "failed": 0}})"));
}

TEST(JobToJson, ListsReplicasInRankOrderWithEveryDocumentedKey) {
  const auto json = job_to_json(testing::a_ps_train_job(kNow), false);
  ASSERT_EQ(json["replicas"].size(), 3u);
  EXPECT_EQ(json["replicas"][2], nlohmann::json({{"name", "worker-1"},
                                                 {"type", "Worker"},
                                                 {"index", 1},
                                                 {"rank", 2},
                                                 {"uid", "mnist-worker-1-1"},
                                                 {"state", "Running"},
                                                 {"node", "gpu-2"},
                                                 {"address", "10.0.0.2"},
                                                 {"port", 30000},
                                                 {"gpuIndices", {0, 1}},
                                                 {"epoch", 3},
                                                 {"exitCode", 137},
                                                 {"reason", "NodeLost"},
                                                 {"restarts", 1},
                                                 {"startedAt", "2024-05-01T11:59:30Z"}}));
  EXPECT_EQ(json["replicas"][0]["name"], "ps-0");
  EXPECT_TRUE(json["replicas"][0]["exitCode"].is_null());
  EXPECT_TRUE(json["replicas"][0]["gpuIndices"].is_array());
  EXPECT_TRUE(json["replicas"][0]["gpuIndices"].empty());
}

TEST(JobToJson, GivesAJobWithoutReplicasEmptyListsAndZeroCountsNotMissingKeys) {
  const auto json = job_to_json(a_queued_job(), false);
  EXPECT_EQ(json["conditions"], nlohmann::json::array());
  EXPECT_EQ(json["replicas"], nlohmann::json::array());
  EXPECT_EQ(json["replicaStatuses"], nlohmann::json::object());
  EXPECT_EQ(json["restarts"], 0);
  EXPECT_EQ(json["priority"], 0);
  EXPECT_EQ(json["queue"], "");
}

TEST(ListsToJson, AreArraysEvenWhenEmpty) {
  EXPECT_TRUE(nodes_to_json({}).is_array());
  EXPECT_EQ(jobs_to_json({}).dump(), "[]");
  EXPECT_EQ(nodes_to_json({a_node(), a_node()}).size(), 2u);
}

}  // namespace
}  // namespace cadre::client

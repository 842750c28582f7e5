#include "actors/state_store.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace cadre::actors::state_store_test {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/state_store_test_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-wal");
    std::filesystem::remove(path_ + "-shm");
  }
  std::unique_ptr<StateStore> open() {
    auto store = StateStore::Open(path_);
    EXPECT_OK(store);
    return std::move(*store);
  }
  std::string path_;
};

JobRecord record(const std::string& name) {
  JobRecord r;
  r.status.name = name;
  r.status.kind = "Job";
  r.status.phase = protocol::JobPhase::kRunning;
  r.status.node = "n1";
  r.status.replica = name + "-main-0-0";
  r.status.created_ms = 1000;
  r.status.manifest = "apiVersion: cadre/v1";
  r.attempts = 1;
  r.token = "secret-" + name;
  return r;
}

TEST_F(StateStoreTest, JobsSurviveReopeningWithEveryField) {
  {
    auto store = open();
    JobRecord r = record("a");
    r.status.exit_code = 3;
    r.status.restarts = 2;
    r.status.conditions.push_back({protocol::ConditionType::kRunning,
                                   protocol::ConditionStatus::kTrue, "GangStarted",
                                   "all 2 replicas run", 5});
    protocol::ReplicaStatus replica;
    replica.name = "worker-1";
    replica.type = "Worker";
    replica.index = 1;
    replica.uid = "a-worker-1-4";
    replica.node = "n2";
    replica.epoch = 9;
    replica.port = 31007;
    replica.gpu_indices = {1, 3};  // a restarted coordinator must not hand these out again
    replica.restarts = 2;
    r.status.replicas.push_back(replica);
    ASSERT_OK(store->put_job(r));
    ASSERT_OK(store->put_job(record("b")));
  }
  auto jobs = open()->load_jobs();
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 2u);
  const JobRecord& a = (*jobs)[0];
  EXPECT_EQ(a.status.name, "a");
  EXPECT_EQ(a.status.exit_code, 3);
  EXPECT_EQ(a.status.node, "n1");
  EXPECT_EQ(a.attempts, 1);
  EXPECT_EQ(a.token, "secret-a");
  EXPECT_EQ(a.status.manifest, "apiVersion: cadre/v1");
  EXPECT_EQ(a.status.restarts, 2);
  ASSERT_EQ(a.status.conditions.size(), 1u);
  EXPECT_EQ(a.status.conditions[0].reason, "GangStarted");
  ASSERT_EQ(a.status.replicas.size(), 1u);
  const auto& replica = a.status.replicas[0];
  EXPECT_EQ(replica.uid, "a-worker-1-4");
  EXPECT_EQ(replica.node, "n2");
  EXPECT_EQ(replica.epoch, 9u);
  EXPECT_EQ(replica.port, 31007);
  EXPECT_EQ(replica.gpu_indices, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(replica.restarts, 2);
  EXPECT_FALSE((*jobs)[1].status.exit_code.has_value());
  EXPECT_TRUE((*jobs)[1].status.replicas.empty());
}

TEST_F(StateStoreTest, LoadKeepsTheLatestValueOfEachMetric) {
  auto store = open();
  ASSERT_OK(store->put_job(record("a")));
  ASSERT_OK(store->append_metrics("a", "u", {{"loss", 0.9, 1, 0}, {"accuracy", 0.5, 1, 0}}));
  ASSERT_OK(store->append_metrics("a", "u", {{"loss", 0.4, 2, 0}}));
  auto jobs = store->load_jobs();
  ASSERT_OK(jobs);
  EXPECT_DOUBLE_EQ((*jobs)[0].status.metrics.at("loss"), 0.4);
  EXPECT_DOUBLE_EQ((*jobs)[0].status.metrics.at("accuracy"), 0.5);
}

TEST_F(StateStoreTest, AFloodOfPointsKeepsItsRetentionWithTheNewestExactAndTheFirstKept) {
  auto opened = StateStore::Open(path_, MetricRetention{200});
  ASSERT_OK(opened);
  auto& store = *opened;
  for (int64_t batch = 0; batch < 100; ++batch) {
    std::vector<protocol::MetricSample> samples;
    for (int64_t i = 0; i < 100; ++i) {
      const int64_t step = batch * 100 + i;
      samples.push_back({"loss", static_cast<double>(step), step, 0});
    }
    ASSERT_OK(store->append_metrics("a", "u", samples));
  }
  auto points = store->metric_points("a", "u", "loss");
  ASSERT_OK(points);
  EXPECT_LE(*points, 200);
  EXPECT_GE(*points, 100);
  // Other series are untouched by this one's thinning.
  ASSERT_OK(store->append_metrics("a", "u", {{"accuracy", 0.5, 1, 0}}));
  EXPECT_EQ(*store->metric_points("a", "u", "accuracy"), 1);
  // The latest value is still the one load_jobs reports.
  ASSERT_OK(store->put_job(record("a")));
  auto jobs = store->load_jobs();
  ASSERT_OK(jobs);
  EXPECT_DOUBLE_EQ(jobs->at(0).status.metrics.at("loss"), 9999.0);
}

TEST_F(StateStoreTest, RecentMetricsAreTheNewestPointsOldestFirstWithTheirReplica) {
  auto store = open();
  ASSERT_OK(
      store->append_metrics("a", "a-worker-0-0", {{"loss", 0.9, 1, 10}, {"accuracy", 0.5, 1, 10}}));
  ASSERT_OK(store->append_metrics("a", "a-worker-1-1", {{"loss", std::nan(""), 2, 20}}));
  ASSERT_OK(store->append_metrics("a", "a-worker-0-0", {{"loss", 0.4, 3, 30}}));
  ASSERT_OK(store->append_metrics("b", "b-main-0-0", {{"loss", 7.0, 1, 40}}));
  auto all = store->recent_metrics("a", "", 100);
  ASSERT_OK(all);
  EXPECT_EQ(all->name, "a");
  ASSERT_EQ(all->points.size(), 4u);
  EXPECT_FALSE(all->truncated);
  EXPECT_EQ(all->points[0].name, "loss");
  EXPECT_EQ(all->points[0].replica, "a-worker-0-0");
  EXPECT_TRUE(std::isnan(all->points[2].value));
  EXPECT_EQ(all->points[2].replica, "a-worker-1-1");
  auto newest = store->recent_metrics("a", "loss", 2);
  ASSERT_OK(newest);
  ASSERT_EQ(newest->points.size(), 2u);
  EXPECT_TRUE(newest->truncated);
  EXPECT_EQ(newest->points[0].step, 2);
  EXPECT_DOUBLE_EQ(newest->points[1].value, 0.4);
  EXPECT_EQ(newest->points[1].time_ms, 30);
  auto none = store->recent_metrics("nobody", "", 10);
  ASSERT_OK(none);
  EXPECT_TRUE(none->points.empty());
}

TEST_F(StateStoreTest, DeleteRemovesTheJobItsEventsAndMetrics) {
  auto store = open();
  ASSERT_OK(store->put_job(record("a")));
  ASSERT_OK(store->append_event("a", {1, protocol::EventType::kNormal, "Created", "job created"}));
  ASSERT_OK(store->append_metrics("a", "u", {{"loss", 1, 1, 0}}));
  ASSERT_OK(store->delete_job("a"));
  EXPECT_TRUE(store->load_jobs()->empty());
  EXPECT_TRUE(store->events("a", 10)->empty());
}

TEST_F(StateStoreTest, RecurringRunsSurviveReopeningAndGoWithTheirEvents) {
  {
    auto store = open();
    protocol::RecurringRunStatus rr;
    rr.name = "nightly";
    rr.trigger = "cron 0 0 2 * * *";
    rr.last_scheduled_ms = 1794908800000;
    rr.runs_started = 4;
    rr.manifest = "kind: RecurringRun";
    ASSERT_OK(store->put_recurring_run(rr));
    rr.runs_started = 5;  // replaced, not added
    ASSERT_OK(store->put_recurring_run(rr));
    ASSERT_OK(store->append_event(recurring_run_events_key("nightly"),
                                  {1, protocol::EventType::kNormal, "RunStarted", "x"}));
  }
  auto store = open();
  auto loaded = store->load_recurring_runs();
  ASSERT_OK(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].runs_started, 5);
  EXPECT_EQ((*loaded)[0].last_scheduled_ms, 1794908800000);
  EXPECT_EQ((*loaded)[0].manifest, "kind: RecurringRun");
  ASSERT_OK(store->delete_recurring_run("nightly"));
  EXPECT_TRUE(store->load_recurring_runs()->empty());
  EXPECT_TRUE(store->events(recurring_run_events_key("nightly"), 10)->empty());
}

TEST_F(StateStoreTest, PipelineVersionsAndRunsSurviveReopening) {
  {
    auto store = open();
    ASSERT_OK(store->put_pipeline_version("p", {1, 100, "v1 text"}));
    ASSERT_OK(store->put_pipeline_version("p", {2, 200, "v2 text"}));
    ASSERT_OK(store->put_pipeline_version("q", {1, 300, "q text"}));
    // A version is written once: the same one again is an error, not a silent replace.
    EXPECT_FALSE(store->put_pipeline_version("p", {2, 400, "other"}).ok());
    protocol::PipelineRunStatus run;
    run.name = "r";
    run.pipeline = "p";
    run.pipeline_version = 2;
    run.state = protocol::PipelineState::kRunning;
    run.next_job = 3;
    protocol::PipelineTaskStatus task;
    task.id = "loop/0/step";
    task.kind = protocol::PipelineTaskKind::kContainer;
    task.job = "r-2";
    task.outputs = "{\"x\":1}";
    run.tasks.push_back(task);
    run.events.push_back({1, protocol::EventType::kNormal, "Started", "kept in the events table"});
    ASSERT_OK(store->put_run(run));
    ASSERT_OK(store->append_event(run_events_key("r"), run.events[0]));
  }
  auto store = open();
  auto pipelines = store->load_pipelines();
  ASSERT_OK(pipelines);
  ASSERT_EQ(pipelines->size(), 2u);
  EXPECT_EQ((*pipelines)[0].name, "p");
  ASSERT_EQ((*pipelines)[0].versions.size(), 2u);
  EXPECT_EQ((*pipelines)[0].versions[1].manifest, "v2 text");
  auto runs = store->load_runs();
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 1u);
  const auto& r = (*runs)[0];
  EXPECT_EQ(r.pipeline_version, 2);
  EXPECT_EQ(r.next_job, 3);
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].id, "loop/0/step");
  EXPECT_EQ(r.tasks[0].outputs, "{\"x\":1}");
  ASSERT_OK(store->delete_run("r"));
  EXPECT_TRUE(store->load_runs()->empty());
  EXPECT_TRUE(store->events(run_events_key("r"), 10)->empty());
  ASSERT_OK(store->delete_pipeline("p"));
  EXPECT_EQ(store->load_pipelines()->size(), 1u);
}

TEST_F(StateStoreTest, NodesSurviveReopeningAsTheyLastRegisteredWithoutTheirReplicas) {
  protocol::RegisterRequest gpu;
  gpu.name = "gpu-1";
  gpu.address = "10.0.0.7";
  gpu.cpu_millis = 32000;
  gpu.memory_bytes = 256ll << 30;
  gpu.gpus = 2;
  gpu.gpu_models = {"H200", "H200"};
  gpu.labels = {{"zone", "a"}};
  gpu.port_min = 31000;
  gpu.port_max = 31999;
  gpu.running.push_back(protocol::ReplicaReport{});
  protocol::RegisterRequest cpu;
  cpu.name = "cpu-1";
  cpu.cpu_millis = 2000;
  {
    auto store = open();
    ASSERT_OK(store->put_node(gpu));
    ASSERT_OK(store->put_node(cpu));
    gpu.cpu_millis = 16000;  // registered again, smaller: the last registration wins
    ASSERT_OK(store->put_node(gpu));
  }
  auto store = open();
  auto nodes = store->load_nodes();
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].name, "cpu-1");
  const auto& back = (*nodes)[1];
  EXPECT_EQ(back.name, "gpu-1");
  EXPECT_EQ(back.address, "10.0.0.7");
  EXPECT_EQ(back.cpu_millis, 16000);
  EXPECT_EQ(back.memory_bytes, 256ll << 30);
  EXPECT_EQ(back.gpus, 2);
  EXPECT_EQ(back.gpu_models, gpu.gpu_models);
  EXPECT_EQ(back.labels, gpu.labels);
  EXPECT_EQ(back.port_max, 31999);
  EXPECT_TRUE(back.running.empty());
  ASSERT_OK(store->delete_node("gpu-1"));
  nodes = store->load_nodes();
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].name, "cpu-1");
}

TEST_F(StateStoreTest, ACordonSurvivesReopeningAndTheNodesNextRegistrationButNotItsDeletion) {
  protocol::RegisterRequest a;
  a.name = "a";
  a.cpu_millis = 1000;
  protocol::RegisterRequest b;
  b.name = "b";
  {
    auto store = open();
    ASSERT_OK(store->put_node(a));
    ASSERT_OK(store->put_node_cordoned(a, true));
    ASSERT_OK(store->put_node_cordoned(b, true));  // cordoned before its registration was stored
    ASSERT_OK(store->put_node(b));
    a.cpu_millis = 2000;
    ASSERT_OK(store->put_node(a));  // registered again
  }
  auto store = open();
  auto cordoned = store->load_cordoned_nodes();
  ASSERT_OK(cordoned);
  EXPECT_EQ(*cordoned, (std::vector<std::string>{"a", "b"}));
  auto nodes = store->load_nodes();
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].cpu_millis, 2000);

  ASSERT_OK(store->put_node_cordoned(a, false));
  ASSERT_OK(store->delete_node("b"));
  ASSERT_OK(store->put_node(b));  // b comes back as a new node: not cordoned
  cordoned = store->load_cordoned_nodes();
  ASSERT_OK(cordoned);
  EXPECT_TRUE(cordoned->empty());
  nodes = store->load_nodes();
  ASSERT_OK(nodes);
  EXPECT_EQ((*nodes)[0].cpu_millis, 2000);  // uncordoning keeps the registration
}

TEST_F(StateStoreTest, FileRemovalsSurviveReopeningOldestFirstWithTheNodesStillOwed) {
  const protocol::RemoveReplicaFiles a{"a", "a-1-", {"main-0"}};
  const protocol::RemoveReplicaFiles b{"b", "b-2-", {"worker-0", "worker-1"}};
  const protocol::RemoveReplicaFiles c{"c", "c-1-", {"main-0"}};
  {
    auto store = open();
    ASSERT_OK(store->put_file_removal({a, {"n1", "n2"}}));
    ASSERT_OK(store->put_file_removal({b, {"n2"}}));
    ASSERT_OK(store->put_file_removal({c, {"n1"}}));
    ASSERT_OK(store->put_file_removal({a, {"n2"}}));  // n1 answered: a keeps its place
    ASSERT_OK(store->delete_file_removal("c-1-"));    // every node answered
  }
  auto store = open();
  auto removals = store->load_file_removals();
  ASSERT_OK(removals);
  ASSERT_EQ(removals->size(), 2u);
  EXPECT_EQ((*removals)[0].files.uid_prefix, "a-1-");
  EXPECT_EQ((*removals)[0].unsure, std::vector<std::string>{"n2"});
  EXPECT_EQ((*removals)[1].files.job, "b");
  EXPECT_EQ((*removals)[1].files.replicas, b.replicas);
  EXPECT_EQ((*removals)[1].unsure, std::vector<std::string>{"n2"});
}

TEST_F(StateStoreTest, EventsComeBackInOrderAndLimitedToTheNewest) {
  auto store = open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(
        store->append_event("a", {i, protocol::EventType::kNormal, "R" + std::to_string(i), ""}));
  }
  auto events = store->events("a", 3);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].reason, "R2");
  EXPECT_EQ((*events)[2].reason, "R4");
}

TEST_F(StateStoreTest, EpochsStrictlyIncreaseAcrossRestarts) {
  uint64_t first = 0;
  {
    auto store = open();
    first = *store->next_epoch();
    EXPECT_EQ(*store->next_epoch(), first + 1);
  }
  EXPECT_EQ(*open()->next_epoch(), first + 2);
}

TEST_F(StateStoreTest, GroupCommitHoldsManyWritesAndRollbackDropsThemAll) {
  auto store = open();
  ASSERT_OK(store->begin());
  ASSERT_OK(store->put_job(record("a")));
  ASSERT_OK(store->append_metrics("a", "u", {{"loss", 1, 1, 0}}));  // joins, no nested BEGIN
  ASSERT_OK(store->commit());
  ASSERT_OK(store->begin());
  ASSERT_OK(store->put_job(record("b")));
  store->rollback();
  auto jobs = open()->load_jobs();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_DOUBLE_EQ((*jobs)[0].status.metrics.at("loss"), 1.0);
}

TEST(StateStoreOpen, UnwritableLocationIsAnErrorValue) {
  auto store = StateStore::Open("/proc/cadre-cannot-write-here/state.db");
  EXPECT_FALSE(store.ok());
}

}  // namespace
}  // namespace cadre::actors::state_store_test

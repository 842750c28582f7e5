#include "client/table_output.h"

#include <gtest/gtest.h>

#include "client/time_format.h"
#include "tests/client/train_job_fixture.h"

namespace cadre::client {
namespace {

constexpr int64_t kNow = 1714564800000;

TEST(RenderTable, AlignsColumnsThreeSpacesApartWithoutTrailingSpaces) {
  EXPECT_EQ(render_table({"NAME", "PHASE"}, {{"a", "Running"}, {"longer-name", ""}}),
            "NAME          PHASE\n"
            "a             Running\n"
            "longer-name   -\n");
}

TEST(JobsTable, ShowsKubectlColumnsWithDashesForUnsetValues) {
  protocol::JobStatus running;
  running.name = "hello";
  running.kind = "Job";
  running.phase = protocol::JobPhase::kRunning;
  running.node = "local-1";
  running.created_ms = kNow - 65000;
  protocol::JobStatus failed = running;
  failed.name = "fail";
  failed.phase = protocol::JobPhase::kFailed;
  failed.reason = "Error";
  failed.exit_code = 3;
  EXPECT_EQ(jobs_table({running, failed}, kNow, false),
            "NAME    KIND   PHASE     REASON   EXIT   NODE      AGE\n"
            "hello   Job    Running   -        -      local-1   1m5s\n"
            "fail    Job    Failed    Error    3      local-1   1m5s\n");
}

TEST(JobsTable, WideAddsMetricsAndMessage) {
  protocol::JobStatus job;
  job.name = "m";
  job.metrics = {{"accuracy", 0.5}, {"loss", 0.25}};
  job.message = "ok";
  const std::string table = jobs_table({job}, kNow, true);
  EXPECT_NE(table.find("METRICS"), std::string::npos);
  EXPECT_NE(table.find("accuracy=0.5 loss=0.25"), std::string::npos);
}

TEST(NodesTable, ShowsAllocatedOverAllocatable) {
  protocol::NodeStatus node;
  node.name = "local-1";
  node.state = protocol::NodeState::kReady;
  node.cpu_millis = 4000;
  node.allocated_cpu_millis = 500;
  node.memory_bytes = 16ll << 30;
  node.allocated_memory_bytes = 512ll << 20;
  node.gpus = 0;
  node.last_heartbeat_ms = kNow - 1000;
  EXPECT_EQ(nodes_table({node}, kNow, false),
            "NAME      STATE   CPU     MEMORY       GPUS   HEARTBEAT\n"
            "local-1   Ready   0.5/4   512Mi/16Gi   0/0    1s ago\n");
}

protocol::QueueStatus a_borrowing_queue() {
  protocol::QueueStatus queue;
  queue.name = "team-a";
  queue.cohort = "lab";
  queue.quota.cpu_millis = 4000;
  queue.quota.gpus = 2;
  queue.borrowing_limit.gpus = 1;
  queue.reclaim = "Any";
  queue.used_cpu_millis = 1500;
  queue.used_memory_bytes = 2ll << 30;
  queue.used_gpus = 3;
  queue.borrowing = true;
  queue.pending = 2;
  queue.admitted = 1;
  return queue;
}

TEST(QueuesTable, ShowsUsedOverQuotaWithADashWhereUnlimited) {
  protocol::QueueStatus plain;
  plain.name = "default";
  EXPECT_EQ(queues_table({a_borrowing_queue(), plain}, false),
            "NAME      COHORT   CPU     MEMORY   GPUS   PENDING   ADMITTED\n"
            "team-a    lab      1.5/4   2Gi/-    3/2    2         1\n"
            "default   -        0/-     0/-      0/-    0         0\n");
  const std::string wide = queues_table({a_borrowing_queue()}, true);
  EXPECT_NE(wide.find("BORROWING-LIMIT   RECLAIM"), std::string::npos) << wide;
  EXPECT_NE(wide.find("gpu=1" + std::string(13, ' ') + "Any"), std::string::npos) << wide;
}

TEST(DescribeQueue, ShowsUseAgainstQuotaAndTheJobsAdmittedAndWaitingInOrder) {
  protocol::QueueStatus queue = a_borrowing_queue();
  queue.admitted_jobs = {"train-a"};
  queue.pending_jobs = {"urgent"};  // one of the two waiting, as a bounded reply lists them
  EXPECT_EQ(describe_queue(queue),
            "Name:       team-a\n"
            "Cohort:     lab (reclaim Any)\n"
            "Borrowing:  yes: holds more than its quota, lent by cohort lab\n"
            "Resources:\n"
            "  RESOURCE   USED   QUOTA   BORROWING-LIMIT\n"
            "  cpu        1.5    4       -\n"
            "  memory     2Gi    -       -\n"
            "  gpu        3      2       1\n"
            "Admitted (1):\n"
            "  train-a\n"
            "Pending, in the order they are tried (2):\n"
            "  urgent\n"
            "  ... and 1 more\n");
  protocol::QueueStatus idle;
  idle.name = "default";
  const std::string text = describe_queue(idle);
  EXPECT_NE(text.find("Cohort:     -\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Admitted:   <none>\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("Borrowing:"), std::string::npos) << text;
}

TEST(DescribeNode, ShowsItsShareOfEachResourceAndWhoseReplicasRunThere) {
  protocol::NodeStatus node;
  node.name = "gpu-1";
  node.address = "10.0.0.7";
  node.epoch = 3;
  node.last_heartbeat_ms = kNow - 2000;
  node.labels = {{"zone", "a"}};
  node.cpu_millis = 4000;
  node.allocated_cpu_millis = 1000;
  node.memory_bytes = 16ll << 30;
  node.allocated_memory_bytes = 4ll << 30;
  node.gpus = 2;
  node.allocated_gpus = 1;
  node.gpu_models = {"NVIDIA H200", "NVIDIA H200"};
  // The heartbeat has not reported the worker yet, and reports a uid no job has.
  node.replicas = {"gone-1-main-0-0"};
  protocol::JobStatus mnist;
  mnist.name = "mnist";
  mnist.kind = "TrainJob";
  mnist.owner = "experiment/tune";
  protocol::ReplicaStatus worker;
  worker.name = "worker-1";
  worker.uid = "mnist-1-worker-1-0";
  worker.state = protocol::ReplicaState::kRunning;
  worker.gpu_indices = {1};
  worker.started_ms = kNow - 65000;
  worker.node = "gpu-1";
  protocol::ReplicaStatus elsewhere = worker;  // on another node
  elsewhere.name = "worker-0";
  elsewhere.uid = "mnist-1-worker-0-0";
  elsewhere.node = "gpu-2";
  protocol::ReplicaStatus done = worker;  // ran here and exited
  done.name = "ps-0";
  done.uid = "mnist-1-ps-0-0";
  done.state = protocol::ReplicaState::kSucceeded;
  mnist.replicas = {done, elsewhere, worker};
  EXPECT_EQ(describe_node(node, {mnist}, kNow),
            "Name:       gpu-1\n"
            "State:      Ready\n"
            "Address:    10.0.0.7\n"
            "Epoch:      3\n"
            "Heartbeat:  2024-05-01T11:59:58Z (2s ago)\n"
            "Labels:     zone=a\n"
            "GPUs:       2 (NVIDIA H200, NVIDIA H200)\n"
            "Allocated resources:\n"
            "  RESOURCE   ALLOCATED   ALLOCATABLE   SHARE\n"
            "  cpu        1           4             25%\n"
            "  memory     4Gi         16Gi          25%\n"
            "  gpu        1           2             50%\n"
            "Replicas:\n"
            "  JOB              REPLICA           STATE     GPUS   OWNER             AGE\n"
            "  trainjob/mnist   worker-1          Running   1      experiment/tune   1m5s\n"
            "  -                gone-1-main-0-0   -         -      -                 -\n");
}

TEST(DescribeNode, SaysNoneWhenNothingRunsThereAndDashesWhatItDoesNotOffer) {
  protocol::NodeStatus node;
  node.name = "cpu-1";
  node.cpu_millis = 2000;
  const std::string page = describe_node(node, {}, kNow);
  EXPECT_NE(page.find("  gpu        0           0             -\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Replicas:   <none>\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Heartbeat:  -\n"), std::string::npos) << page;
}

TEST(DescribeNode, SaysACordonedNodeTakesNothingNew) {
  protocol::NodeStatus node;
  node.name = "cpu-1";
  node.cordoned = true;
  const std::string page = describe_node(node, {}, kNow);
  EXPECT_NE(
      page.find("State:      Ready,SchedulingDisabled (cordoned: nothing new is placed here)\n"),
      std::string::npos)
      << page;
}

TEST(TimeFormat, RendersAgesCoresAndRfc3339) {
  EXPECT_EQ(format_age(0), "0s");
  EXPECT_EQ(format_age(59999), "59s");
  EXPECT_EQ(format_age(3600000), "1h");
  EXPECT_EQ(format_age(90061000), "1d1h");
  EXPECT_EQ(age_since(0, kNow), "-");
  EXPECT_EQ(format_cores(250), "0.25");
  EXPECT_EQ(format_cores(4000), "4");
  EXPECT_EQ(rfc3339(kNow), "2024-05-01T12:00:00Z");
}

TEST(DescribeJob, ShowsStatusMetricsManifestAndEvents) {
  protocol::JobStatus job;
  job.name = "fail";
  job.kind = "Job";
  job.phase = protocol::JobPhase::kFailed;
  job.reason = "Error";
  job.exit_code = 3;
  job.created_ms = kNow - 10000;
  job.metrics = {{"accuracy", 0.5}};
  job.manifest = "kind: Job\nmetadata:\n  name: fail\n";
  job.events.push_back({kNow - 5000, protocol::EventType::kWarning, "Failed", "exit code 3"});
  const std::string page = describe_job(job, kNow);
  EXPECT_NE(page.find("Phase:      Failed\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Exit Code:  3\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Started:    -\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Created:    2024-05-01T11:59:50Z (10s ago)"), std::string::npos) << page;
  EXPECT_NE(page.find("  accuracy   0.5\n"), std::string::npos) << page;
  EXPECT_NE(page.find("  metadata:\n    name: fail\n"), std::string::npos) << page;
  EXPECT_NE(page.find("  5s    Warning   Failed   exit code 3\n"), std::string::npos) << page;
}

TEST(DescribeJob, AlignsNoneWithTheOtherValues) {
  protocol::JobStatus job;
  job.name = "q";
  const std::string page = describe_job(job, kNow);
  EXPECT_NE(page.find("Name:       q\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Metrics:    <none>\nManifest:   <none>\nEvents:     <none>\n"),
            std::string::npos)
      << page;
}

TEST(TrainJobsTable, ShowsActiveOverTotalPerTypeInRankOrderAndRestarts) {
  EXPECT_EQ(trainjobs_table({testing::a_ps_train_job(kNow)}, kNow, false),
            "NAME    STATE     REPLICAS            RESTARTS   AGE\n"
            "mnist   Running   PS 1/1 Worker 2/2   1          2m5s\n");
}

TEST(TrainJobsTable, WideAddsReasonPriorityQueueDurationAndLatestMetrics) {
  EXPECT_EQ(trainjobs_table({testing::a_ps_train_job(kNow)}, kNow, true),
            "NAME    STATE     REPLICAS            RESTARTS   AGE    REASON          PRIORITY   "
            "QUEUE      DURATION   METRICS                    MESSAGE\n"
            "mnist   Running   PS 1/1 Worker 2/2   1          2m5s   GangScheduled   5          "
            "research   2m         accuracy=0.875 loss=0.25   -\n");
}

TEST(ReplicaSummary, CountsOnlyActiveReplicasOverEveryReplicaOfTheType) {
  protocol::JobStatus job = testing::a_ps_train_job(kNow);
  job.replica_statuses["Worker"] = protocol::ReplicaCounts{1, 0, 1};
  EXPECT_EQ(replica_summary(job), "PS 1/1 Worker 1/2");
}

TEST(ReplicaSummary, FallsBackToTheCountsForTypesWithoutListedReplicas) {
  protocol::JobStatus job;
  job.replica_statuses["Worker"] = protocol::ReplicaCounts{1, 2, 1};
  EXPECT_EQ(replica_summary(job), "Worker 1/4");
  EXPECT_EQ(replica_summary(protocol::JobStatus{}), "");
}

TEST(DescribeTrainJob, LeadsWithStatePriorityQueueAndRestartsInsteadOfOneReplica) {
  const std::string page = describe_job(testing::a_ps_train_job(kNow), kNow);
  EXPECT_EQ(page.rfind("Name:       mnist\n"
                       "Kind:       TrainJob\n"
                       "State:      Running\n"
                       "Reason:     GangScheduled\n"
                       "Message:    -\n"
                       "Priority:   5\n"
                       "Queue:      research\n"
                       "Restarts:   1\n"
                       "Created:    2024-05-01T11:57:55Z (2m5s ago)\n"
                       "Started:    2024-05-01T11:58:00Z (2m ago)\n"
                       "Finished:   -\n",
                       0),
            0u)
      << page;
  EXPECT_EQ(page.find("Exit Code:"), std::string::npos) << page;
}

TEST(DescribeTrainJob, ListsConditionsReplicasWithEndpointsAndPerTypeCounts) {
  const std::string page = describe_job(testing::a_ps_train_job(kNow), kNow);
  EXPECT_NE(
      page.find("Conditions:\n"
                "  TYPE         STATUS   REASON             AGE    MESSAGE\n"
                "  Created      True     TrainJobCreated    2m5s   -\n"
                "  Running      True     GangScheduled      30s    all 3 replicas running\n"
                "  Restarting   False    ReplicaRestarted   31s    worker-1: node gpu-3 lost\n"
                "Replicas:\n"),
      std::string::npos)
      << page;
  EXPECT_NE(
      page.find(
          "Replicas:\n"
          "  NAME       STATE     NODE    ENDPOINT         GPUS   RESTARTS   EXIT   REASON\n"
          "  ps-0       Running   gpu-1   10.0.0.1:30001   -      0          -      -\n"
          "  worker-0   Running   gpu-1   10.0.0.1:30002   0      0          -      -\n"
          "  worker-1   Running   gpu-2   10.0.0.2:30000   0,1    1          137    NodeLost\n"
          "Replica Statuses:\n"
          "  TYPE     REPLICAS   ACTIVE   SUCCEEDED   FAILED\n"
          "  PS       1          1        0           0\n"
          "  Worker   2          2        0           0\n"
          "Metrics:\n"
          "  NAME       VALUE\n"
          "  accuracy   0.875\n"
          "  loss       0.25\n"),
      std::string::npos)
      << page;
  EXPECT_NE(page.find("  31s   Warning   NodeLost   worker-1 on gpu-3\n"), std::string::npos)
      << page;
}

TEST(DescribeTrainJob, SaysNoneForSectionsTheCoordinatorHasNotFilledYet) {
  protocol::JobStatus job;
  job.name = "queued";
  job.kind = "TrainJob";
  job.phase = protocol::JobPhase::kQueued;
  const std::string page = describe_job(job, kNow);
  EXPECT_NE(page.find("Conditions: <none>\nReplicas:   <none>\nReplica Statuses: <none>\n"
                      "Metrics:    <none>\n"),
            std::string::npos)
      << page;
}

TEST(DescribeJob, ShowsTheMainReplicaWhenTheCoordinatorSendsIt) {
  protocol::JobStatus job;
  job.name = "hello";
  job.kind = "Job";
  protocol::ReplicaStatus main;
  main.name = "main-0";
  main.type = "Main";
  main.state = protocol::ReplicaState::kSucceeded;
  main.node = "local-1";
  main.address = "127.0.0.1";
  main.exit_code = 0;
  main.reason = "Completed";
  job.replicas = {main};
  const std::string page = describe_job(job, kNow);
  EXPECT_NE(page.find("  main-0   Succeeded   local-1   127.0.0.1   -      0          0      "
                      "Completed\n"),
            std::string::npos)
      << page;
  EXPECT_EQ(page.find("Conditions:"), std::string::npos) << page;
}

TEST(InstanceLabel, NamesTheReplicaAndItsInstanceWhateverTheUidsAge) {
  EXPECT_EQ(instance_label("fmnist", "fmnist-mx6finav-worker-1-3"), "worker-1 #3");
  EXPECT_EQ(instance_label("fmnist", "fmnist-worker-1-3"), "worker-1 #3") << "before incarnations";
  EXPECT_EQ(instance_label("a-b", "a-b-mx6finav-main-0-0"), "main-0 #0");
  EXPECT_EQ(instance_label("fmnist", "other-worker-1-3"), "other-worker-1-3");
  EXPECT_EQ(instance_label("fmnist", "fmnist-"), "fmnist-");
  EXPECT_EQ(instance_label("fmnist", "fmnist-a-b-c-d-e"), "fmnist-a-b-c-d-e");
}

}  // namespace
}  // namespace cadre::client

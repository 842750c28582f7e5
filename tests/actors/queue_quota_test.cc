// Queue quotas (Kueue's nominalQuota): parsing --queue-quota, and the scheduler
// holding a queue's placed gangs within its quota.
#include "actors/queue_quota.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/scheduler.h"
#include "tests/actors/scheduler_fixture.h"

namespace cadre::actors::scheduler_test {
namespace {

GangRequest in_queue(const std::string& job, const std::string& queue, int replicas,
                     spec::ResourceRequest each) {
  GangRequest g = gang(job, replicas, each);
  g.queue = queue;
  return g;
}

std::string error_of(const std::string& text) {
  auto parsed = parse_queue_quota(text);
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(QueueQuota, ParsesAQueueNameAndAnyOfCpuMemoryAndGpu) {
  auto parsed = parse_queue_quota("research:cpu=1.5,memory=64Gi,gpu=4");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->first, "research");
  EXPECT_EQ(parsed->second.cpu_millis, 1500);
  EXPECT_EQ(parsed->second.memory_bytes, 64ll << 30);
  EXPECT_EQ(parsed->second.gpus, 4);
  EXPECT_EQ(to_string(parsed->second), "cpu=1.5 memory=64Gi gpu=4");
  auto gpus_only = parse_queue_quota("team-a:gpu=2");
  ASSERT_TRUE(gpus_only.ok());
  EXPECT_FALSE(gpus_only->second.cpu_millis.has_value()) << "unset means unlimited";
}

TEST(QueueQuota, RefusesWhatIsNotAQuotaNamingThePart) {
  EXPECT_EQ(error_of("research"),
            "queue-quota 'research': must be QUEUE:cpu=N,memory=Q,gpu=N with QUEUE a DNS label");
  EXPECT_EQ(error_of("Research:gpu=1"),
            "queue-quota 'Research:gpu=1': must be QUEUE:cpu=N,memory=Q,gpu=N with QUEUE a DNS "
            "label");
  EXPECT_EQ(error_of("r:"), "queue-quota 'r:': names no resource (cpu, memory or gpu)");
  EXPECT_EQ(error_of("r:disk=1"),
            "queue-quota 'r:disk=1': 'disk' is not one of cpu, memory, gpu, cohort, borrow-cpu, "
            "borrow-memory, borrow-gpu, reclaim");
  EXPECT_EQ(error_of("r:gpu"), "queue-quota 'r:gpu': 'gpu' is not KEY=VALUE");
  EXPECT_EQ(error_of("r:gpu=1.5"),
            "queue-quota 'r:gpu=1.5': gpu '1.5' is not a whole number of devices");
  EXPECT_EQ(error_of("r:gpu=1,gpu=2"), "queue-quota 'r:gpu=1,gpu=2': gpu is given twice");
  EXPECT_NE(error_of("r:memory=lots").find("queue-quota 'r:memory=lots': memory"),
            std::string::npos);
}

TEST(QueueQuota, ParsesACohortWithBorrowingLimitsAndReclaim) {
  auto parsed = parse_queue_quota(
      "team-a:cpu=4,gpu=2,cohort=lab,borrow-cpu=2,borrow-gpu=1,"
      "reclaim=Any");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const QueueQuota& quota = parsed->second;
  EXPECT_EQ(quota.cohort, "lab");
  EXPECT_EQ(to_string(quota), "cpu=4 gpu=2");
  EXPECT_EQ(to_string(quota.borrowing_limit), "cpu=2 gpu=1");
  EXPECT_EQ(quota.reclaim, ReclaimPolicy::kAny);
  auto plain = parse_queue_quota("team-b:gpu=2,cohort=lab");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->second.borrowing_limit.empty()) << "bounded only by the cohort";
  EXPECT_EQ(plain->second.reclaim, ReclaimPolicy::kLowerPriority);
}

TEST(QueueQuota, RefusesAmountsLargerThanAnyClusterSoCohortSumsCannotOverflow) {
  EXPECT_EQ(error_of("a:memory=2048Ti"),
            "queue-quota 'a:memory=2048Ti': memory '2048Ti' is over 1Pi");
  EXPECT_EQ(error_of("a:gpu=1000001"),
            "queue-quota 'a:gpu=1000001': gpu '1000001' is over 1000000");
  EXPECT_EQ(error_of("a:cpu=1,cohort=c,borrow-memory=8000000Ti"),
            "queue-quota 'a:cpu=1,cohort=c,borrow-memory=8000000Ti': borrow-memory '8000000Ti' "
            "is over 1Pi");
  EXPECT_EQ(error_of("a:memory=1024Ti,gpu=1000000"), "");
}

TEST(QueueQuota, RefusesBorrowingThatHasNothingToBorrowFromOrPast) {
  EXPECT_EQ(error_of("a:cpu=1,borrow-cpu=1"),
            "queue-quota 'a:cpu=1,borrow-cpu=1': borrowing limits and reclaim need a cohort "
            "(cohort=NAME)");
  EXPECT_EQ(error_of("a:cpu=1,reclaim=Any"),
            "queue-quota 'a:cpu=1,reclaim=Any': borrowing limits and reclaim need a cohort "
            "(cohort=NAME)");
  EXPECT_EQ(error_of("a:cpu=1,cohort=lab,borrow-gpu=1"),
            "queue-quota 'a:cpu=1,cohort=lab,borrow-gpu=1': borrow-gpu needs a quota of gpu to "
            "borrow past");
  EXPECT_EQ(error_of("a:cpu=1,cohort=Lab"),
            "queue-quota 'a:cpu=1,cohort=Lab': cohort 'Lab' is not a DNS label");
  EXPECT_EQ(error_of("a:cpu=1,cohort=lab,reclaim=Always"),
            "queue-quota 'a:cpu=1,cohort=lab,reclaim=Always': reclaim 'Always' is not "
            "LowerPriority or Any");
  EXPECT_EQ(error_of("a:cohort=lab"),
            "queue-quota 'a:cohort=lab': names no resource (cpu, memory or gpu)");
  EXPECT_EQ(error_of("a:cpu=1,cohort=x,cohort=y"),
            "queue-quota 'a:cpu=1,cohort=x,cohort=y': cohort is given twice");
  EXPECT_EQ(error_of("a:cpu=1,cohort=lab,borrow-cpu=1,borrow-cpu=2"),
            "queue-quota 'a:cpu=1,cohort=lab,borrow-cpu=1,borrow-cpu=2': borrow-cpu is given "
            "twice");
}

class QuotaScheduler : public ::testing::Test {
 protected:
  void SetUp() override {
    s.upsert_node(node("n1", 8000));
    s.upsert_node(node("n2", 8000));
    QueueQuota research;
    research.cpu_millis = 3000;
    s.set_quotas({{"research", research}});
  }
  Scheduler s;
};

TEST_F(QuotaScheduler, AQueuesGangsWaitPastItsQuotaWhileTheClusterHasRoom) {
  ASSERT_EQ(place(s, in_queue("a", "research", 2, request(1000))), Scheduler::Fit::kPlaced);
  const GangRequest b = in_queue("b", "research", 2, request(1000));
  EXPECT_EQ(place(s, b), Scheduler::Fit::kWait);
  EXPECT_EQ(s.allocated_on("n1").cpu_millis + s.allocated_on("n2").cpu_millis, 2000)
      << "nothing of the waiting gang is held";
  EXPECT_EQ(s.why_waiting(b),
            "waiting for room in queue research's quota (cpu=3): its placed gangs hold cpu=2 "
            "memory=0 gpu=0; this gang needs cpu=2 memory=0 gpu=0");
  // Other queues are not limited by it.
  EXPECT_EQ(place(s, in_queue("c", "default", 4, request(1000))), Scheduler::Fit::kPlaced);
  EXPECT_EQ(s.used_by_queue("research").cpu_millis, 2000);
  s.release_job("a");
  EXPECT_EQ(place(s, b), Scheduler::Fit::kPlaced);
}

TEST_F(QuotaScheduler, AGangLargerThanItsQueuesQuotaCanNeverBePlaced) {
  std::vector<Placement> out;
  NeverFits never;
  EXPECT_EQ(s.place(in_queue("big", "research", 4, request(1000)), &out, &never),
            Scheduler::Fit::kNever);
  EXPECT_EQ(never.reason, "Unschedulable");
  EXPECT_EQ(never.message,
            "the gang of 4 replicas needs cpu=4 memory=0 gpu=0 in total; queue research's quota "
            "is cpu=3");
}

TEST_F(QuotaScheduler, PreemptionWithinAFullQueueStopsItsOwnLowerPriorityGangs) {
  GangRequest low = in_queue("low", "research", 3, request(1000));
  low.preemptible = true;
  ASSERT_EQ(place(s, low), Scheduler::Fit::kPlaced);
  GangRequest other = in_queue("other", "default", 1, request(1000));
  other.preemptible = true;
  ASSERT_EQ(place(s, other), Scheduler::Fit::kPlaced);
  GangRequest urgent = in_queue("urgent", "research", 1, request(1000));
  urgent.priority = 5;
  urgent.preempts = true;
  EXPECT_EQ(s.victims_for(urgent), std::vector<std::string>{"low"})
      << "stopping another queue's gang frees nothing of this quota";
}

TEST_F(QuotaScheduler, ARestoredPlacementCountsAgainstItsQueue) {
  s.reserve("kept/worker-0", "n1", request(3000), {}, 0, "", "research");
  EXPECT_EQ(place(s, in_queue("new", "research", 1, request(1000))), Scheduler::Fit::kWait);
}

}  // namespace
}  // namespace cadre::actors::scheduler_test

// Cohorts of queues (Kueue's cohort, borrowingLimit and reclaimWithinCohort): a queue
// borrows what the other queues of its cohort leave unused, within its borrowing
// limit, and a queue with reclaim=Any takes its own quota back from borrowers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/queue_status.h"
#include "actors/scheduler.h"
#include "tests/actors/scheduler_fixture.h"

namespace cadre::actors::scheduler_test {
namespace {

GangRequest of_queue(const std::string& job, const std::string& queue, int replicas,
                     int64_t cpu_each, int32_t priority = 0) {
  GangRequest g = gang(job, replicas, request(cpu_each));
  g.queue = queue;
  g.priority = priority;
  g.preemptible = true;
  g.preempts = true;
  return g;
}

QueueQuota in_cohort(int64_t cpu, const std::string& cohort = "lab") {
  QueueQuota quota;
  quota.cpu_millis = cpu;
  quota.cohort = cohort;
  return quota;
}

class QueueCohorts : public ::testing::Test {
 protected:
  void SetUp() override {
    s.upsert_node(node("n1", 8000));
    s.upsert_node(node("n2", 8000));
  }
  void quotas(QueueQuota a, QueueQuota b) { s.set_quotas({{"a", a}, {"b", b}}); }
  NeverFits never_of(const GangRequest& g) {
    std::vector<Placement> out;
    NeverFits never;
    EXPECT_EQ(s.place(g, &out, &never), Scheduler::Fit::kNever);
    return never;
  }
  Scheduler s;
};

TEST_F(QueueCohorts, AQueueBorrowsWhatItsCohortLeavesUnusedAndTheLenderWaitsForItBack) {
  quotas(in_cohort(4000), in_cohort(4000));
  ASSERT_EQ(place(s, of_queue("big", "a", 3, 2000)), Scheduler::Fit::kPlaced)
      << "cpu=6 past a's cpu=4, lent by b";
  EXPECT_TRUE(s.borrows("a"));
  EXPECT_FALSE(s.borrows("b"));
  ASSERT_EQ(place(s, of_queue("b1", "b", 1, 2000)), Scheduler::Fit::kPlaced);
  const GangRequest b2 = of_queue("b2", "b", 1, 1000);
  EXPECT_EQ(place(s, b2), Scheduler::Fit::kWait) << "within b's quota, but lent out";
  EXPECT_EQ(s.why_waiting(b2),
            "waiting for room in cohort lab: the placed gangs of its queues hold cpu=8 memory=0 "
            "gpu=0 of their quotas' cpu=8 (queue b's own quota is cpu=4); this gang needs cpu=1 "
            "memory=0 gpu=0");
  EXPECT_TRUE(s.victims_for(b2).empty())
      << "reclaim=LowerPriority: an equal-priority borrower keeps what it holds";
  s.release_job("big");
  EXPECT_EQ(place(s, b2), Scheduler::Fit::kPlaced);
}

TEST_F(QueueCohorts, ABorrowingLimitCapsWhatAQueueTakesPastItsQuota) {
  QueueQuota a = in_cohort(4000);
  a.borrowing_limit.cpu_millis = 1000;
  quotas(a, in_cohort(4000));
  ASSERT_EQ(place(s, of_queue("first", "a", 2, 2000)), Scheduler::Fit::kPlaced);
  const GangRequest two = of_queue("two", "a", 1, 2000);
  EXPECT_EQ(place(s, two), Scheduler::Fit::kWait);
  EXPECT_EQ(s.why_waiting(two),
            "waiting for room in queue a's quota (cpu=4, borrowing at most cpu=1 more from "
            "cohort lab): its placed gangs hold cpu=4 memory=0 gpu=0; this gang needs cpu=2 "
            "memory=0 gpu=0");
  EXPECT_EQ(place(s, of_queue("one", "a", 1, 1000)), Scheduler::Fit::kPlaced);
  const NeverFits never = never_of(of_queue("huge", "a", 3, 2000));
  EXPECT_EQ(never.reason, "Unschedulable");
  EXPECT_EQ(never.message,
            "the gang of 3 replicas needs cpu=6 memory=0 gpu=0 in total; queue a's quota is "
            "cpu=4 and it borrows at most cpu=1 more");
}

TEST_F(QueueCohorts, AGangLargerThanItsWholeCohortCanNeverBePlaced) {
  s.set_quotas({{"a", in_cohort(4000)}, {"b", in_cohort(4000)}, {"c", in_cohort(8000, "other")}});
  const NeverFits never = never_of(of_queue("huge", "a", 3, 3000));
  EXPECT_EQ(never.message,
            "the gang of 3 replicas needs cpu=9 memory=0 gpu=0 in total; the quotas of cohort "
            "lab, queue a's and those it borrows from, are cpu=8 together")
      << "queue c is in another cohort and lends nothing";
}

TEST_F(QueueCohorts, ReclaimAnyStopsTheBorrowersGangsWhateverTheirPriority) {
  QueueQuota a = in_cohort(4000);
  a.reclaim = ReclaimPolicy::kAny;
  quotas(a, in_cohort(4000));
  ASSERT_EQ(place(s, of_queue("borrower", "b", 3, 2000, 10)), Scheduler::Fit::kPlaced);
  const GangRequest mine = of_queue("mine", "a", 1, 3000);
  EXPECT_EQ(place(s, mine), Scheduler::Fit::kWait);
  EXPECT_EQ(s.victims_for(mine), std::vector<std::string>{"borrower"});
  const auto cause = s.preemption_cause(mine, "borrower");
  EXPECT_TRUE(cause.reclaim);
  EXPECT_EQ(cause.message, "queue a reclaiming its quota, which queue b borrowed in cohort lab");
  const GangRequest past_quota = of_queue("past", "a", 1, 5000);
  EXPECT_TRUE(s.victims_for(past_quota).empty())
      << "only a gang within its own queue's quota reclaims";
}

TEST_F(QueueCohorts, WithoutReclaimAnyALenderWaitsForABorrowerOfHigherPriority) {
  quotas(in_cohort(4000), in_cohort(4000));
  ASSERT_EQ(place(s, of_queue("borrower", "b", 3, 2000, 10)), Scheduler::Fit::kPlaced);
  EXPECT_TRUE(s.victims_for(of_queue("mine", "a", 1, 3000)).empty());
  const GangRequest urgent = of_queue("urgent", "a", 1, 3000, 20);
  EXPECT_EQ(s.victims_for(urgent), std::vector<std::string>{"borrower"})
      << "a higher priority preempts as ever";
  EXPECT_FALSE(s.preemption_cause(urgent, "borrower").reclaim);
}

TEST_F(QueueCohorts, AHigherPriorityGangNeverTakesACohortQueueBelowItsOwnQuota) {
  quotas(in_cohort(4000), in_cohort(4000));
  ASSERT_EQ(place(s, of_queue("lender", "a", 1, 4000)), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, of_queue("mine", "b", 1, 4000, 60)), Scheduler::Fit::kPlaced);
  const GangRequest urgent = of_queue("urgent", "b", 1, 2000, 50);
  EXPECT_TRUE(s.victims_for(urgent).empty()) << "b would borrow what a holds within its own quota";

  // While a borrows, its gangs are fair game for a higher priority.
  s.release_job("lender");
  s.release_job("mine");
  ASSERT_EQ(place(s, of_queue("big", "a", 3, 2000)), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, of_queue("mine", "b", 1, 2000, 60)), Scheduler::Fit::kPlaced);
  EXPECT_EQ(s.victims_for(urgent), std::vector<std::string>{"big"});
}

TEST_F(QueueCohorts, AReclaimNeverTakesAQueueBelowItsOwnQuota) {
  Scheduler one;
  one.upsert_node(node("n1", 8000));
  QueueQuota a = in_cohort(4000);
  a.reclaim = ReclaimPolicy::kAny;
  one.set_quotas({{"a", a}, {"b", in_cohort(4000)}});
  ASSERT_EQ(place(one, of_queue("b-kept", "b", 1, 4000, 10)), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(one, of_queue("b-borrowed", "b", 1, 1000, 10)), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(one, of_queue("other", "default", 1, 2000, 100)), Scheduler::Fit::kPlaced);
  // a's 4 cores need b's borrowed core back and 3 more free on the node: only stopping
  // b-kept, within b's quota, would make them, and reclaim does not go that far.
  EXPECT_TRUE(one.victims_for(of_queue("mine", "a", 1, 4000)).empty());
}

TEST_F(QueueCohorts, AQueuesUseFollowsItsSlotsThroughReservesReleasesAndARemovedNode) {
  quotas(in_cohort(4000), in_cohort(4000));
  std::vector<Placement> out;
  ASSERT_EQ(place(s, of_queue("spread", "a", 2, 1000), &out), Scheduler::Fit::kPlaced);
  s.reserve("kept/main-0", "n2", request(500), {}, 0, "", "a");
  s.reserve("kept/main-0", "n2", request(700), {}, 0, "", "a");  // asserted again: replaced
  EXPECT_EQ(s.used_by_queue("a").cpu_millis, 2700);
  s.release("spread/worker-0");
  EXPECT_EQ(s.used_by_queue("a").cpu_millis, 1700);
  s.remove_node("n2");
  const int64_t left = out[1].node == "n2" ? 0 : 1000;
  EXPECT_EQ(s.used_by_queue("a").cpu_millis, left);
  s.release_job("spread");
  EXPECT_EQ(s.used_by_queue("a").cpu_millis, 0);
  EXPECT_TRUE(s.queues_in_use().empty());
}

TEST_F(QueueCohorts, QueueStatusesShowQuotasUseAndWaitingGangs) {
  QueueQuota a = in_cohort(4000);
  a.borrowing_limit.cpu_millis = 2000;
  a.reclaim = ReclaimPolicy::kAny;
  quotas(a, in_cohort(4000));
  ASSERT_EQ(place(s, of_queue("x", "a", 1, 5000)), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, of_queue("y", "default", 2, 1000)), Scheduler::Fit::kPlaced);
  const std::vector<WaitingGang> waiting = {{"b-first", "b"}, {"g", "ghost"}, {"b-next", "b"}};
  const auto statuses = queue_statuses(s, waiting);
  ASSERT_EQ(statuses.size(), 4u);
  EXPECT_EQ(statuses[0].name, "a");
  EXPECT_EQ(statuses[0].cohort, "lab");
  EXPECT_EQ(statuses[0].quota.cpu_millis, 4000);
  EXPECT_FALSE(statuses[0].quota.gpus.has_value());
  EXPECT_EQ(statuses[0].borrowing_limit.cpu_millis, 2000);
  EXPECT_EQ(statuses[0].reclaim, "Any");
  EXPECT_EQ(statuses[0].used_cpu_millis, 5000);
  EXPECT_TRUE(statuses[0].borrowing);
  EXPECT_EQ(statuses[0].admitted, 1);
  EXPECT_EQ(statuses[1].name, "b");
  EXPECT_EQ(statuses[1].pending, 2);
  EXPECT_EQ(statuses[1].reclaim, "LowerPriority");
  EXPECT_EQ(statuses[2].name, "default") << "no quota, but a gang runs in it";
  EXPECT_EQ(statuses[2].used_cpu_millis, 2000);
  EXPECT_TRUE(statuses[2].cohort.empty());
  EXPECT_TRUE(statuses[2].reclaim.empty());
  EXPECT_EQ(statuses[3].name, "ghost") << "no quota, but a gang waits in it";
  EXPECT_EQ(statuses[3].admitted, 0);
  EXPECT_TRUE(statuses[1].pending_jobs.empty()) << "jobs are listed for one queue asked by name";

  const auto b = queue_statuses(s, waiting, "b");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].pending_jobs, (std::vector<std::string>{"b-first", "b-next"}))
      << "in the order the scheduler tries them";
  EXPECT_EQ(queue_statuses(s, waiting, "a")[0].admitted_jobs, std::vector<std::string>{"x"});
  EXPECT_TRUE(queue_statuses(s, waiting, "nosuch").empty());
}

}  // namespace
}  // namespace cadre::actors::scheduler_test

// Which placed gangs a waiting gang of higher priority stops to make room
// (Scheduler::victims_for), as Kubernetes picks preemption victims.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/scheduler.h"
#include "tests/actors/scheduler_fixture.h"

namespace cadre::actors::scheduler_test {
namespace {

using Victims = std::vector<std::string>;

// A gang of `replicas` replicas of `cpu` millicores at `priority`: batch work, so
// it may preempt and be preempted.
GangRequest batch(const std::string& job, int replicas, int64_t cpu, int32_t priority) {
  GangRequest g = gang(job, replicas, request(cpu));
  g.priority = priority;
  g.preempts = true;
  g.preemptible = true;
  return g;
}

void placed(Scheduler& s, const GangRequest& g) {
  ASSERT_EQ(place(s, g), Scheduler::Fit::kPlaced) << g.job;
}

TEST(SchedulerPreemption, StopsTheLowestPriorityThenLatestPlacedGangsThatMakeRoom) {
  Scheduler s;
  s.upsert_node(node("n1", 4000));
  placed(s, batch("old", 2, 1000, 0));
  placed(s, batch("new", 2, 1000, 0));
  GangRequest urgent = batch("urgent", 2, 1000, 10);
  ASSERT_EQ(place(s, urgent), Scheduler::Fit::kWait);
  // Either would make room; the one placed later has lost the least work.
  EXPECT_EQ(s.victims_for(urgent), Victims{"new"});

  placed(s, batch("low", 1, 0, -5));  // holds nothing the gang needs, but is cheapest
  EXPECT_EQ(s.victims_for(urgent), Victims{"new"}) << "a victim that frees nothing is spared";
  urgent.members.push_back({"urgent/worker-2", request(1000)});
  EXPECT_EQ(s.victims_for(urgent), (Victims{"new", "old"})) << "as many as the gang needs";
}

TEST(SchedulerPreemption, SparesAnEarlierVictimTheGangTurnsOutNotToNeed) {
  Scheduler s;
  s.upsert_node(node("n1", 4000));
  s.upsert_node(node("n2", 4000));
  placed(s, batch("a", 1, 2000, 1));  // n1
  placed(s, batch("b", 1, 2000, 1));  // n1
  placed(s, batch("d", 1, 3000, 9));  // n2
  placed(s, batch("c", 1, 1000, 0));  // n2: the cheapest, yet n2 stays too full
  GangRequest whole_node = batch("urgent", 1, 4000, 5);
  ASSERT_EQ(place(s, whole_node), Scheduler::Fit::kWait);
  EXPECT_EQ(s.victims_for(whole_node), (Victims{"b", "a"}));
}

TEST(SchedulerPreemption, NothingOfEqualOrHigherPriorityIsEverStopped) {
  Scheduler s;
  s.upsert_node(node("n1", 2000));
  placed(s, batch("same", 1, 1000, 5));
  placed(s, batch("higher", 1, 1000, 6));
  EXPECT_TRUE(s.victims_for(batch("urgent", 1, 1000, 5)).empty());
}

TEST(SchedulerPreemption, AGangThatMayNotPreemptOrFindsNoPreemptibleVictimWaits) {
  Scheduler s;
  s.upsert_node(node("n1", 2000));
  GangRequest serving = batch("isvc-replica", 1, 1000, 0);
  serving.preemptible = false;  // an InferenceService's replica
  placed(s, serving);
  placed(s, batch("batch", 1, 1000, 0));
  GangRequest polite = batch("polite", 1, 2000, 10);
  polite.preempts = false;  // preemptionPolicy: Never
  EXPECT_TRUE(s.victims_for(polite).empty());
  EXPECT_TRUE(s.victims_for(batch("urgent", 1, 2000, 10)).empty())
      << "stopping the batch job alone would not make room";
  EXPECT_EQ(s.victims_for(batch("urgent", 1, 1000, 10)), Victims{"batch"});
}

TEST(SchedulerPreemption, ChoosingVictimsChangesNothing) {
  Scheduler s;
  s.upsert_node(node("n1", 2000, 0, 9000, 9001));
  placed(s, batch("low", 2, 1000, 0));
  EXPECT_EQ(s.victims_for(batch("urgent", 2, 1000, 1)), Victims{"low"});
  EXPECT_EQ(s.allocated_on("n1").cpu_millis, 2000);
  EXPECT_TRUE(s.holds("low"));
  EXPECT_FALSE(s.holds("urgent"));
}

TEST(SchedulerPreemption, AReservedJobIsAVictimOnceClassifiedAndForgottenOnceReleased) {
  Scheduler s;
  s.upsert_node(node("n1", 2000));
  s.reserve("restored/worker-0", "n1", request(2000), {}, 0);
  const GangRequest urgent = batch("urgent", 1, 1000, 3);
  EXPECT_TRUE(s.victims_for(urgent).empty()) << "its priority is not known yet";
  s.classify("restored", 2, true);
  EXPECT_EQ(s.victims_for(urgent), Victims{"restored"});
  s.release("restored/worker-0");
  EXPECT_FALSE(s.holds("restored"));
  placed(s, batch("fresh", 1, 2000, 7));
  EXPECT_TRUE(s.victims_for(urgent).empty()) << "only what holds slots now counts";
}

TEST(SchedulerPreemption, AGangNeverPreemptsItsOwnJob) {
  Scheduler s;
  s.upsert_node(node("n1", 1000));
  placed(s, batch("self", 1, 1000, 0));
  GangRequest again = batch("self", 1, 1000, 0);
  again.priority = 4;
  EXPECT_TRUE(s.victims_for(again).empty());
}

}  // namespace
}  // namespace cadre::actors::scheduler_test

// A job stopped by the scheduler for a gang of higher priority, and queued again:
// what it asks the scheduler for, and what becomes of its replicas.
#include <gtest/gtest.h>

#include "actors/job_state_machine.h"
#include "tests/actors/job_machine_fixture.h"

namespace cadre::actors::job_state_machine_test {
namespace {

class PreemptedJob : public JobMachine {
 protected:
  JobEffects preempt() {
    return track(settle(m->on_preempt("urgent", "priority 10, above its 0")));
  }
  JobEffects exit_killed(size_t i) {
    protocol::ReplicaExited e = exit_of(uid(i), 0, 15);
    e.reason = reason::kKilled;
    return track(settle(m->on_exited(node(i), e)));
  }
};

TEST_F(PreemptedJob, BatchWorkMayPreemptAndBePreemptedUnlessItsPolicySaysNever) {
  auto gang_of = [](const JobEffects& effects) {
    return all<fx::RequestPlacement>(effects).at(0).gang;
  };
  spec::TrainJobSpec s = gang(2);
  s.run_policy.scheduling.priority = 3;
  s.run_policy.scheduling.queue = "research";
  auto train = gang_of(start(s));
  EXPECT_EQ(train.priority, 3);
  EXPECT_EQ(train.queue, "research");
  EXPECT_TRUE(train.preempts);
  EXPECT_TRUE(train.preemptible);

  s.run_policy.scheduling.preemption = spec::PreemptionPolicy::kNever;
  auto polite = gang_of(start(s));
  EXPECT_FALSE(polite.preempts);
  EXPECT_TRUE(polite.preemptible);

  for (const char* owner : {"inferenceservice/fmnist", "notebook/alice"}) {
    JobRecord record;
    record.status.owner = owner;
    auto served = gang_of(start(single_job(), record));
    EXPECT_FALSE(served.preempts) << owner;
    EXPECT_FALSE(served.preemptible) << owner << " is never stopped for batch work";
  }
  JobRecord trial;
  trial.status.owner = "experiment/tune";
  EXPECT_TRUE(gang_of(start(single_job(), trial)).preemptible);
}

TEST_F(PreemptedJob, StopsEveryReplicaAndQueuesTheWholeGangOnceTheyEnded) {
  running(gang(2));
  const std::string first = uid(0);
  auto out = preempt();
  EXPECT_EQ(status().phase, JobPhase::kQueued);
  EXPECT_EQ(status().reason, reason::kPreempted);
  EXPECT_EQ(status().message,
            "preempted by job urgent (priority 10, above its 0): its replicas are stopped and "
            "the whole gang queued again (not counted)");
  ASSERT_EQ(all<fx::RecordEvent>(out).size(), 1u);
  EXPECT_EQ(all<fx::RecordEvent>(out)[0].event.reason, reason::kPreempted);
  EXPECT_EQ(killed_uids(out), (std::vector<std::string>{uid(0), uid(1)}));
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u) << "not while its old instances run";

  EXPECT_EQ(count<fx::RequestPlacement>(exit_killed(0)), 0u);
  auto last = exit_killed(1);
  EXPECT_EQ(count<fx::RequestPlacement>(last), 1u);
  EXPECT_EQ(status().restarts, 0) << "a preemption is not counted against backoffLimit";
  EXPECT_EQ(replica(0).restarts, 1);

  auto placed = place();
  EXPECT_NE(uid(0), first);
  EXPECT_EQ(all<fx::Launch>(placed).at(0).launch.env.at("CADRE_CHECKPOINT_DIR"),
            "/ckpt/default/fmnist")
      << "it resumes from its checkpoints";
  start_all();
  EXPECT_EQ(status().phase, JobPhase::kRunning);
}

TEST_F(PreemptedJob, ADuplicatePreemptionChangesNothing) {
  running(gang(2));
  preempt();
  auto again = preempt();
  EXPECT_TRUE(again.empty());
}

TEST_F(PreemptedJob, AJobThatHoldsNothingRunningIsLeftAlone) {
  track(start(gang(2)));
  EXPECT_TRUE(m->on_preempt("urgent", "priority 10, above its 0").empty()) << "queued";

  running(gang(2));
  settle(m->on_suspend(1, true));
  EXPECT_TRUE(m->on_preempt("urgent", "priority 10, above its 0").empty()) << "suspended";

  running(single_job());
  exit(0, 0);
  ASSERT_EQ(status().phase, JobPhase::kSucceeded);
  EXPECT_TRUE(m->on_preempt("urgent", "priority 10, above its 0").empty()) << "finished";
}

TEST_F(PreemptedJob, AGangAlreadyRestartingGivesUpItsSlotsOnItsOwn) {
  running(gang(2));
  exit(0, 1);  // OnFailure: the whole gang restarts, worker-1 is being stopped
  ASSERT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_TRUE(m->on_preempt("urgent", "priority 10, above its 0").empty());
  // Its new gang queues behind the higher priority like any other.
  EXPECT_EQ(count<fx::RequestPlacement>(exit_killed(1)), 1u);
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
}

TEST_F(PreemptedJob, RestoredItsSlotsCarryItsPriorityAndQueueToTheScheduler) {
  spec::TrainJobSpec s = gang(1);
  s.run_policy.scheduling.priority = -2;
  s.run_policy.scheduling.queue = "research";
  running(s);
  JobRecord record = m->record();
  auto restored = start(s, record, /*restored=*/true);
  auto reserves = all<fx::Reserve>(restored);
  ASSERT_EQ(reserves.size(), 1u);
  EXPECT_EQ(reserves[0].priority, -2);
  EXPECT_TRUE(reserves[0].preemptible);
  EXPECT_EQ(reserves[0].queue, "research") << "it counts against its queue's quota";
}

}  // namespace
}  // namespace cadre::actors::job_state_machine_test

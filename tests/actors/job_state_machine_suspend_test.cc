// Suspending and resuming a job (cadre suspend / resume, runPolicy.suspend),
// transition by transition.
#include "actors/job_state_machine.h"
#include "tests/actors/job_machine_fixture.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cadre::actors::job_state_machine_test {
namespace {

std::vector<fx::AnswerSuspend> answers(const JobEffects& effects) {
  return all<fx::AnswerSuspend>(effects);
}

class SuspendedJob : public JobMachine {
 protected:
  JobEffects suspend(bool want, uint64_t request = 1) {
    return track(settle(m->on_suspend(request, want)));
  }
  JobEffects exit_killed(size_t i) {
    protocol::ReplicaExited e = exit_of(uid(i), 0, 15);
    e.reason = reason::kKilled;
    return track(settle(m->on_exited(node(i), e)));
  }
};

TEST_F(SuspendedJob, StopsEveryReplicaFreesItsSlotsAndAnswersOnceStored) {
  running(gang(2));
  auto asked = m->on_suspend(7, true);
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
  for (const auto& c : status().conditions) {
    const bool is_suspended = c.type == ConditionType::kSuspended;
    EXPECT_EQ(c.status == ConditionStatus::kTrue, is_suspended || c.type == ConditionType::kCreated)
        << protocol::to_string(c.type);
  }
  EXPECT_EQ(status().reason, reason::kSuspended);
  EXPECT_EQ(killed_uids(asked), (std::vector<std::string>{uid(0), uid(1)}));
  EXPECT_TRUE(answers(asked).empty()) << "answered before the suspension was stored";
  auto stored = settle(asked);
  auto answer = answers(stored);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].request, 7u);
  EXPECT_OK(answer[0].status);
  EXPECT_TRUE(answer[0].changed);
  EXPECT_EQ(answer[0].phase, JobPhase::kSuspended);

  auto ended = exit_killed(0);
  append(ended, exit_killed(1));
  EXPECT_EQ(replica(0).state, ReplicaState::kStopped) << "stopped by us, not failed";
  EXPECT_EQ(replica(1).state, ReplicaState::kStopped);
  EXPECT_EQ(all<fx::Release>(ended).size(), 2u);
  EXPECT_EQ(count<fx::RequestPlacement>(ended), 0u) << "a suspended job asks for nothing";
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
  EXPECT_EQ(status().restarts, 0) << "a suspension is no restart";
}

TEST_F(SuspendedJob, AQueuedGangIsWithdrawnAndAStalePlacementIsGivenBack) {
  track(start(gang(2)));
  const int64_t asked_for = attempt();
  auto out = suspend(true);
  EXPECT_EQ(count<fx::CancelPlacement>(out), 1u);
  std::vector<Placement> placements(2);
  placements[0].node = "a";
  placements[1].node = "b";
  auto late = m->on_placed(asked_for, placements);
  EXPECT_EQ(count<fx::Launch>(late), 0u);
  ASSERT_EQ(all<fx::Release>(late).size(), 1u);
  EXPECT_EQ(all<fx::Release>(late)[0].key, "fmnist/");
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
}

TEST_F(SuspendedJob, ResumedItQueuesTheWholeGangAgainWithNewInstances) {
  running(gang(2));
  const std::string first = uid(0);
  suspend(true);
  exit_killed(0);
  exit_killed(1);
  now += 60'000;
  auto out = suspend(false, 8);
  EXPECT_EQ(status().phase, JobPhase::kQueued);
  EXPECT_EQ(status().reason, reason::kResumed);
  EXPECT_EQ(status().resumed_ms, now);
  EXPECT_EQ(count<fx::RequestPlacement>(out), 1u);
  ASSERT_EQ(answers(out).size(), 1u);
  EXPECT_TRUE(answers(out)[0].changed);
  EXPECT_EQ(answers(out)[0].phase, JobPhase::kQueued);
  const auto& conditions = status().conditions;
  auto suspended = std::find_if(conditions.begin(), conditions.end(),
                                [](const auto& c) { return c.type == ConditionType::kSuspended; });
  ASSERT_NE(suspended, conditions.end());
  EXPECT_EQ(suspended->status, ConditionStatus::kFalse) << "as Kubeflow's JobSuspended";
  EXPECT_EQ(suspended->reason, reason::kResumed);
  auto placed = place();
  EXPECT_NE(uid(0), first) << "the agent keeps the old instance's log and folder apart";
  // The same checkpoint folder: cadre-train resumes where it stopped.
  EXPECT_EQ(all<fx::Launch>(placed).at(0).launch.env.at("CADRE_CHECKPOINT_DIR"),
            "/ckpt/default/fmnist");
  start_all();
  EXPECT_EQ(status().phase, JobPhase::kRunning);
}

TEST_F(SuspendedJob, ResumedBeforeItsReplicasEndedItWaitsForTheLastOfThem) {
  running(gang(2));
  suspend(true);
  auto resumed = suspend(false);
  EXPECT_EQ(count<fx::RequestPlacement>(resumed), 0u) << "two instances of a rank would run";
  exit_killed(0);
  EXPECT_EQ(count<fx::RequestPlacement>(exit_killed(1)), 1u);
  EXPECT_EQ(status().phase, JobPhase::kQueued);
}

TEST_F(SuspendedJob, AskingTwiceChangesNothingAndSaysSo) {
  running(gang(1));
  suspend(true);
  auto again = suspend(true, 2);
  EXPECT_TRUE(killed_uids(again).empty());
  ASSERT_EQ(answers(again).size(), 1u);
  EXPECT_FALSE(answers(again)[0].changed);
  exit_killed(0);
  suspend(false);
  auto not_suspended = suspend(false, 3);
  ASSERT_EQ(answers(not_suspended).size(), 1u);
  EXPECT_FALSE(answers(not_suspended)[0].changed);
  EXPECT_EQ(count<fx::RequestPlacement>(not_suspended), 0u);
}

TEST_F(SuspendedJob, AppliedAgainWithSuspendItKeepsTheNewManifestAcrossARestart) {
  auto s = gang(1);
  JobRecord record;
  record.status.manifest = "kind: TrainJob # suspend: false";
  track(start(s, record));
  place();
  start_all();
  auto out = track(settle(m->on_suspend(4, true, "kind: TrainJob # suspend: true")));
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
  EXPECT_EQ(status().manifest, "kind: TrainJob # suspend: true")
      << "describe shows what was applied";
  ASSERT_EQ(answers(out).size(), 1u);
  EXPECT_TRUE(answers(out)[0].changed);
  // cadre suspend leaves the manifest as it is.
  settle(m->on_suspend(5, true));
  EXPECT_EQ(status().manifest, "kind: TrainJob # suspend: true");
}

TEST_F(SuspendedJob, AFinishedOrDeletingJobRefusesNamingWhy) {
  running(single_job());
  exit(0, 0);
  ASSERT_EQ(status().phase, JobPhase::kSucceeded);
  auto refused = answers(m->on_suspend(1, true));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused[0].status.message(),
            "trainjob/hello has finished (Succeeded); only a queued, running or suspended job "
            "can be suspended");

  running(gang(1));
  m->on_delete(1);
  auto deleting = answers(m->on_suspend(2, false));
  ASSERT_EQ(deleting.size(), 1u);
  EXPECT_EQ(deleting[0].status.message(), "trainjob/fmnist is being deleted; it cannot be resumed");
}

TEST_F(SuspendedJob, RunPolicySuspendCreatesItSuspendedAndStoredWithNothingPlaced) {
  auto s = gang(2);
  s.run_policy.suspend = true;
  s.run_policy.active_deadline_seconds = 30;
  auto out = start(s);
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u);
  EXPECT_EQ(count<fx::Persist>(out), 1u) << "the record the manager stored said Queued";
  EXPECT_TRUE(timers(out, Kind::kDeadline).empty()) << "the deadline runs from its resume";
  auto resumed = suspend(false);
  EXPECT_EQ(count<fx::RequestPlacement>(resumed), 1u);
}

TEST_F(SuspendedJob, ARestartedCoordinatorKeepsItSuspendedEvenIfThatWasNeverStored) {
  auto s = gang(2);
  s.run_policy.suspend = true;
  JobRecord record;  // as the manager stored it: Queued
  auto out = start(s, record, /*restored=*/true);
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u);

  // Resumed once, it is a job like any other after a restart.
  JobRecord resumed;
  resumed.status.resumed_ms = now;
  auto again = start(s, resumed, /*restored=*/true);
  EXPECT_EQ(status().phase, JobPhase::kQueued);
  EXPECT_EQ(count<fx::RequestPlacement>(again), 1u);
}

TEST_F(SuspendedJob, ARestoredSuspendedJobAsksForNoPlacement) {
  JobRecord record;
  record.status.phase = JobPhase::kSuspended;
  auto out = start(gang(2), record, /*restored=*/true);
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u);
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
}

TEST_F(SuspendedJob, TheDeadlineIsPausedWhileSuspendedAndCountsAfreshFromTheResume) {
  auto s = gang(1);
  s.run_policy.active_deadline_seconds = 30;
  auto created = track(start(s));
  const auto first = timers(created, Kind::kDeadline).at(0);
  place();
  start_all();
  now += 10'000;
  suspend(true);
  exit_killed(0);
  now += 25'000;  // the first deadline passes while suspended
  settle(m->on_timer(first));
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
  auto resumed = suspend(false);
  std::vector<fx::StartTimer> rearmed;
  for (const auto& t : all<fx::StartTimer>(resumed)) {
    if (t.timer.kind == Kind::kDeadline) rearmed.push_back(t);
  }
  ASSERT_EQ(rearmed.size(), 1u);
  EXPECT_EQ(rearmed[0].after, std::chrono::seconds(30));
  now += 5'000;  // a stale timer of before the suspension fires late: not yet due
  settle(m->on_timer(first));
  EXPECT_EQ(status().phase, JobPhase::kQueued);
  now += 25'000;
  settle(m->on_timer(rearmed[0].timer));
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kDeadlineExceeded);
}

TEST_F(SuspendedJob, ALostNodeWhileSuspendedEndsItsReplicasWithoutARestart) {
  running(gang(2));
  suspend(true);
  auto lost = track(settle(m->on_node_lost(node(0))));
  EXPECT_EQ(count<fx::RequestPlacement>(lost), 0u);
  EXPECT_EQ(status().phase, JobPhase::kSuspended);
  EXPECT_EQ(status().restarts, 0);
}

}  // namespace
}  // namespace cadre::actors::job_state_machine_test

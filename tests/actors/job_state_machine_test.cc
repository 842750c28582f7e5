// The job supervisor's state machine, transition by transition, with no actors:
// each test feeds events and reads the effects a shell would carry out.
#include "actors/job_state_machine.h"
#include "protocol/codec.h"
#include "tests/actors/job_machine_fixture.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <memory>

namespace cadre::actors::job_state_machine_test {
namespace {

// ---- creation and placement ------------------------------------------------------

TEST_F(JobMachine, NewJobIsCreatedAndQueuedAndAsksForItsWholeGang) {
  auto out = track(start(gang(3)));
  EXPECT_EQ(status().phase, JobPhase::kQueued);
  ASSERT_EQ(status().conditions.size(), 2u);
  EXPECT_EQ(status().conditions[0].type, ConditionType::kCreated);
  EXPECT_EQ(status().conditions[1].type, ConditionType::kQueued);
  auto requests = all<fx::RequestPlacement>(out);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].gang.members.size(), 3u);
  EXPECT_EQ(requests[0].gang.members[2].key, "fmnist/worker-2");
  EXPECT_EQ(count<fx::Launch>(out), 0u);
}

TEST_F(JobMachine, PlacementIsStoredBeforeAnyReplicaIsLaunched) {
  track(start(gang(2)));
  std::vector<Placement> placements(2);
  placements[0].node = "a";
  placements[1].node = "b";
  auto placed = m->on_placed(attempt(), placements);
  EXPECT_EQ(count<fx::Launch>(placed), 0u) << "launched before the placement was durable";
  auto persists = all<fx::Persist>(placed);
  ASSERT_EQ(persists.size(), 1u);
  EXPECT_EQ(replica(0).state, ReplicaState::kStarting);

  auto stored = m->on_stored(persists[0].seq, Status::Ok());
  auto launches = all<fx::Launch>(stored);
  ASSERT_EQ(launches.size(), 2u);
  EXPECT_EQ(launches[0].node, "a");
  EXPECT_EQ(launches[0].launch.uid, "fmnist-loyw3v28-worker-0-0") << "created at 1.7e12 ms";
  EXPECT_EQ(launches[1].launch.uid, "fmnist-loyw3v28-worker-1-1");
  EXPECT_EQ(launches[0].launch.env.at("CADRE_CHECKPOINT_DIR"), "/ckpt/default/fmnist");
  EXPECT_EQ(count<fx::PublishSummary>(stored), 1u);
}

TEST_F(JobMachine, AJobCreatedAgainUnderItsNameReusesNoUidOfTheOneBefore) {
  running(gang(2));
  const std::vector<std::string> first = {uid(0), uid(1)};
  now += 1;  // deleted and created again, a millisecond later
  running(gang(2));
  EXPECT_NE(uid(0), first[0]) << "the agent would append to the old replica's log and folder";
  EXPECT_NE(uid(1), first[1]);
  EXPECT_EQ(uid(0).rfind("fmnist-", 0), 0u);
  EXPECT_EQ(uid(0).substr(uid(0).size() - 11), "-worker-0-0");
}

TEST_F(JobMachine, AnswerForAnOlderPlacementAttemptFreesItsSlotsAndLaunchesNothing) {
  track(start(gang(1)));
  auto out = m->on_placed(attempt() + 5, std::vector<Placement>(1));
  ASSERT_EQ(all<fx::Release>(out).size(), 1u);
  EXPECT_EQ(all<fx::Release>(out)[0].key, "fmnist/");
  EXPECT_EQ(replica(0).state, ReplicaState::kPending);
}

TEST_F(JobMachine, ALaunchLargerThanItsNodeAcceptsFailsTheJobAndNothingIsSent) {
  auto s = gang(2);
  s.replica_specs[0].tmpl.args = {std::string(20000, 'x')};
  track(start(s));
  std::vector<Placement> placements(2);
  placements[0].node = "a";
  placements[0].max_message_bytes = 1 << 20;  // fits
  placements[1].node = "b";
  placements[1].max_message_bytes = 16384;  // the same launch does not
  auto out = settle(m->on_placed(attempt(), placements));
  EXPECT_EQ(count<fx::Launch>(out), 0u) << "one replica cannot start: none may";
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kLaunchTooLarge);
  EXPECT_NE(status().message.find("replica worker-1's launch is 2"), std::string::npos)
      << status().message;
  EXPECT_NE(status().message.find("node b accepts at most 16384"), std::string::npos);
  ASSERT_EQ(all<fx::Release>(out).size(), 1u);
  EXPECT_EQ(all<fx::Release>(out)[0].key, "fmnist/");
  EXPECT_EQ(count<fx::Kill>(out), 0u) << "nothing ran, so there is nothing to stop";
  EXPECT_EQ(replica(1).state, ReplicaState::kFailed);
  EXPECT_EQ(replica(1).reason, reason::kLaunchTooLarge);
}

TEST_F(JobMachine, ALaunchWithinItsNodesLimitOrToAnAgentThatSaysNoneIsSent) {
  auto s = gang(2);
  s.replica_specs[0].tmpl.args = {std::string(20000, 'x')};
  track(start(s));
  std::vector<Placement> placements(2);
  placements[0].node = "a";
  placements[0].max_message_bytes = 0;  // an older agent: nothing to check against
  placements[1].node = "b";
  placements[1].max_message_bytes = 1 << 20;
  auto out = settle(m->on_placed(attempt(), placements));
  EXPECT_EQ(count<fx::Launch>(out), 2u);
  EXPECT_EQ(status().phase, JobPhase::kQueued);
}

TEST_F(JobMachine, GangThatCanNeverFitFailsWithTheSchedulersReason) {
  track(start(gang(2)));
  settle(m->on_never_fits(attempt(), {reason::kUnschedulable, "needs 64 cpus"}));
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kUnschedulable);
  EXPECT_EQ(status().message, "needs 64 cpus");
  EXPECT_TRUE(settle(m->on_never_fits(attempt() - 1, {reason::kUnschedulable, "stale"})).empty());
  // Its replicas never started: their logs are finished, not awaited, and a
  // replica named though never placed is one of the job's.
  EXPECT_TRUE(m->locate("").finished);
  EXPECT_FALSE(m->locate("").found);
  EXPECT_TRUE(m->locate("worker-1").exists);
  EXPECT_TRUE(m->locate("worker-1").finished);

  track(start(gang(1)));
  settle(m->on_never_fits(attempt(), {reason::kLaunchTooLarge, "no node accepts it"}));
  EXPECT_EQ(status().reason, reason::kLaunchTooLarge);
}

TEST_F(JobMachine, AGangRequestSaysHowLargeEachLaunchIsAtLeast) {
  auto s = gang(2);
  s.replica_specs[0].tmpl.args = {std::string(20000, 'x')};
  auto requests = all<fx::RequestPlacement>(track(start(s)));
  ASSERT_EQ(requests.size(), 1u);
  const auto& members = requests[0].gang.members;
  ASSERT_EQ(members.size(), 2u);
  EXPECT_GT(members[0].launch_bytes, 20000);
  // Placement only adds to a launch (addresses, ports, peers), so the estimate never
  // exceeds what on_placed then sends.
  auto placed = place();
  auto launches = all<fx::Launch>(placed);
  ASSERT_EQ(launches.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_LE(members[i].launch_bytes,
              static_cast<int64_t>(protocol::encode(launches[i].launch).size()));
  }
}

TEST_F(JobMachine, AWaitingGangSaysWhyInItsStatusWithOneEventAndClearsItOncePlaced) {
  track(start(gang(2)));
  auto first = settle(m->on_waiting(attempt(), "waiting for capacity: cpu=2 needed"));
  EXPECT_EQ(status().phase, JobPhase::kQueued);
  EXPECT_EQ(status().reason, reason::kQueued);
  EXPECT_EQ(status().message, "waiting for capacity: cpu=2 needed");
  EXPECT_EQ(status().conditions[1].type, ConditionType::kQueued);
  EXPECT_EQ(status().conditions[1].message, "waiting for capacity: cpu=2 needed");
  ASSERT_EQ(all<fx::RecordEvent>(first).size(), 1u);
  EXPECT_EQ(all<fx::RecordEvent>(first)[0].event.reason, reason::kQueued);
  EXPECT_EQ(count<fx::PublishSummary>(first), 1u) << "published only once stored";

  // Capacity moved elsewhere: the message follows, the event log does not grow.
  auto second = settle(m->on_waiting(attempt(), "waiting for capacity: cpu=2 needed, 1 free"));
  EXPECT_EQ(status().message, "waiting for capacity: cpu=2 needed, 1 free");
  EXPECT_EQ(count<fx::RecordEvent>(second), 0u);
  EXPECT_TRUE(m->on_waiting(attempt(), "waiting for capacity: cpu=2 needed, 1 free").empty());
  EXPECT_TRUE(m->on_waiting(attempt() - 1, "an older attempt's").empty());

  place();
  EXPECT_EQ(status().reason, reason::kScheduled);
  EXPECT_EQ(status().message, "");
  start_all();
  EXPECT_EQ(status().phase, JobPhase::kRunning);
  EXPECT_TRUE(m->on_waiting(attempt(), "too late").empty());
}

TEST_F(JobMachine, JobIsRunningOnlyOnceEveryReplicaHasStarted) {
  track(start(gang(2)));
  place();
  protocol::ReplicaStarted first;
  first.uid = uid(0);
  settle(m->on_started(node(0), first));
  EXPECT_EQ(status().phase, JobPhase::kQueued);
  protocol::ReplicaStarted second;
  second.uid = uid(1);
  settle(m->on_started(node(1), second));
  EXPECT_EQ(status().phase, JobPhase::kRunning);
  EXPECT_EQ(status().message, "all 2 replicas running");
  EXPECT_EQ(status().started_ms, now);
}

TEST_F(JobMachine, StartReportFromAnotherNodeIsIgnored) {
  track(start(gang(1)));
  place();
  protocol::ReplicaStarted started;
  started.uid = uid(0);
  EXPECT_TRUE(m->on_started("intruder", started).empty());
  EXPECT_EQ(replica(0).state, ReplicaState::kStarting);
}

// ---- a store that fails ----------------------------------------------------------

TEST_F(JobMachine, FailedWriteLaunchesNothingAndIsRetriedWithDoublingBackoff) {
  track(start(gang(1)));
  store_error = Internal("disk I/O error");
  auto out = place();
  EXPECT_EQ(count<fx::Launch>(out), 0u);
  auto retries = all<fx::StartTimer>(out);
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0].after, std::chrono::milliseconds(100));

  // Each retry that fails waits twice as long, up to the cap.
  std::vector<int64_t> delays;
  for (int i = 0; i < 3; ++i) {
    auto again = settle(m->on_timer(JobTimer{Kind::kStoreRetry, ""}));
    EXPECT_EQ(count<fx::Launch>(again), 0u);
    for (const auto& t : all<fx::StartTimer>(again)) delays.push_back(t.after.count());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{200, 400, 800}));

  // The store comes back: the retried write releases the launch held since placement.
  store_error = Status::Ok();
  auto recovered = settle(m->on_timer(JobTimer{Kind::kStoreRetry, ""}));
  EXPECT_EQ(launched_uids(recovered), std::vector<std::string>{uid(0)});
  EXPECT_EQ(status().phase, JobPhase::kQueued);
}

TEST_F(JobMachine, StoreThatNeverRecoversFailsTheJobWithoutLaunchingAnything) {
  track(start(gang(2)));
  store_error = Unavailable("database is locked");
  JobEffects everything = place();
  for (int i = 0; i < retry.attempts + 2; ++i) {
    append(everything, settle(m->on_timer(JobTimer{Kind::kStoreRetry, ""})));
  }
  EXPECT_EQ(count<fx::Launch>(everything), 0u);
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kStoreUnavailable);
  EXPECT_NE(status().message.find("database is locked"), std::string::npos);
  EXPECT_EQ(replica(1).state, ReplicaState::kFailed);
  // Readers are told even though it could not be stored.
  EXPECT_GE(count<fx::PublishSummary>(everything), 1u);

  // Launches abandoned at the give-up stay abandoned when the store returns.
  store_error = Status::Ok();
  auto later = settle(m->on_timer(JobTimer{Kind::kStoreRetry, ""}));
  EXPECT_EQ(count<fx::Launch>(later), 0u);
}

TEST_F(JobMachine, ExitIsAcknowledgedOnlyAfterItIsStored) {
  running(gang(1, spec::RestartPolicy::kNever));
  auto out = m->on_exited(node(0), exit_of(uid(0), 0));
  EXPECT_EQ(count<fx::AckExit>(out), 0u);
  auto persist = all<fx::Persist>(out);
  ASSERT_EQ(persist.size(), 1u);

  // A failed write keeps the acknowledgement back: the agent will resend the exit.
  auto failed = m->on_stored(persist[0].seq, Internal("disk full"));
  EXPECT_EQ(count<fx::AckExit>(failed), 0u);

  auto retried = m->on_timer(JobTimer{Kind::kStoreRetry, ""});
  auto stored = m->on_stored(all<fx::Persist>(retried).at(0).seq, Status::Ok());
  auto acks = all<fx::AckExit>(stored);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].uid, uid(0));
  EXPECT_EQ(acks[0].epoch, 7u);
}

TEST_F(JobMachine, FailureOfAnOlderWriteWaitsForTheNewerOneThatHoldsItsChanges) {
  track(start(gang(2)));
  std::vector<Placement> placements(2);
  auto placed = m->on_placed(attempt(), placements);
  const uint64_t first = all<fx::Persist>(placed).at(0).seq;
  protocol::ReplicaStarted started;
  started.uid = uid(0);
  const uint64_t second = all<fx::Persist>(m->on_started("", started)).at(0).seq;
  EXPECT_TRUE(m->on_stored(first, Internal("busy")).empty())
      << "no retry while a newer write flies";
  auto stored = m->on_stored(second, Status::Ok());
  EXPECT_EQ(launched_uids(stored).size(), 1u) << "worker-0 already started; worker-1 launches";
}

// ---- exits, success and failure ------------------------------------------------------

TEST_F(JobMachine, JobSucceedsWhenItsLeaderExitsZeroAndStopsTheRest) {
  running(gang(2));
  auto out = exit(0, 0);
  EXPECT_EQ(status().phase, JobPhase::kSucceeded);
  EXPECT_EQ(status().reason, reason::kCompleted);
  EXPECT_EQ(status().exit_code, 0);
  EXPECT_EQ(status().finished_ms, now);
  EXPECT_EQ(killed_uids(out), std::vector<std::string>{uid(1)}) << "cleanPodPolicy Running";
  EXPECT_EQ(status().conditions.back().type, ConditionType::kSucceeded);
  for (const auto& c : status().conditions) {
    if (c.type == ConditionType::kRunning) {
      EXPECT_EQ(c.status, ConditionStatus::kFalse);
    }
  }
}

TEST_F(JobMachine, AReplicaStoppedBecauseTheJobEndedIsStoppedNotFailed) {
  running(gang(4));
  exit(0, 0);
  ASSERT_EQ(status().phase, JobPhase::kSucceeded);
  exit(1, 143);  // killed as asked
  exit(2, 0);    // finished before the kill reached it
  auto stopped_cleanly = exit_of(uid(3), 0);
  stopped_cleanly.reason = reason::kKilled;  // the agent had sent the kill: exit 0 on SIGTERM
  settle(m->on_exited(node(3), stopped_cleanly));
  EXPECT_EQ(replica(1).state, ReplicaState::kStopped);
  EXPECT_EQ(replica(1).exit_code, 143);
  EXPECT_EQ(replica(2).state, ReplicaState::kSucceeded);
  EXPECT_EQ(replica(3).state, ReplicaState::kStopped);
  const auto counts = m->status().replica_statuses.at("Worker");
  EXPECT_EQ(counts.succeeded, 2);
  EXPECT_EQ(counts.failed, 0) << "a stopped replica is neither success nor failure";
  EXPECT_EQ(counts.active, 0);
}

TEST_F(JobMachine, AReplicaThatFailsOnItsOwnIsFailedEvenIfTheJobThenStopsTheRest) {
  running(gang(2, spec::RestartPolicy::kNever));
  exit(1, 3);
  ASSERT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(replica(1).state, ReplicaState::kFailed);
  exit(0, 143);
  EXPECT_EQ(replica(0).state, ReplicaState::kStopped);
}

TEST_F(JobMachine, CleanPodPolicyNoneLeavesTheOtherReplicasRunning) {
  auto s = gang(2);
  s.run_policy.clean_pod_policy = spec::CleanPodPolicy::kNone;
  running(s);
  auto out = exit(0, 0);
  EXPECT_EQ(status().phase, JobPhase::kSucceeded);
  EXPECT_TRUE(killed_uids(out).empty());
}

TEST_F(JobMachine, WorkerOtherThanTheLeaderFinishingIsNotTheEnd) {
  running(gang(2));
  auto out = exit(1, 0);
  EXPECT_EQ(status().phase, JobPhase::kRunning);
  EXPECT_EQ(replica(1).state, ReplicaState::kSucceeded);
  ASSERT_EQ(all<fx::Release>(out).size(), 1u);
  EXPECT_EQ(all<fx::Release>(out)[0].key, "fmnist/worker-1");
}

TEST_F(JobMachine, NeverRestartFailsTheJobWithTheExitCode) {
  running(single_job(spec::RestartPolicy::kNever));
  exit(0, 3);
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kError);
  EXPECT_EQ(status().exit_code, 3);
  EXPECT_EQ(status().message, "replica main-0 exited with code 3");
}

TEST_F(JobMachine, AllWorkersSuccessPolicyWaitsForEveryWorker) {
  auto s = gang(2);
  s.success_policy = spec::SuccessPolicy::kAllWorkers;
  running(s);
  exit(0, 0);
  EXPECT_EQ(status().phase, JobPhase::kRunning) << "worker-1 is still running";
  exit(1, 0);
  EXPECT_EQ(status().phase, JobPhase::kSucceeded);
  EXPECT_EQ(status().message, "every worker exited with code 0");
}

TEST_F(JobMachine, ExitCodePolicyRetriesSignalsButNotTheProgramsOwnVerdict) {
  running(gang(1, spec::RestartPolicy::kExitCode));
  auto killed = exit(0, 137);
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_EQ(count<fx::RequestPlacement>(killed), 1u);
  place();
  start_all();
  exit(0, 2);
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().exit_code, 2);
}

TEST_F(JobMachine, CollectiveGangRestartsOnlyAfterEveryOldInstanceHasEnded) {
  running(gang(3));
  const std::string old0 = uid(0), old2 = uid(2);
  auto out = exit(1, 1);
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_EQ(status().reason, reason::kGangRestart);
  EXPECT_EQ(status().restarts, 1);
  EXPECT_EQ(killed_uids(out), (std::vector<std::string>{old0, old2}));
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u) << "old instances still alive";

  auto after_first = exit(0, 143);
  EXPECT_EQ(count<fx::RequestPlacement>(after_first), 0u);
  auto after_last = exit(2, 143);
  ASSERT_EQ(count<fx::RequestPlacement>(after_last), 1u);
  EXPECT_EQ(replica(0).state, ReplicaState::kPending);

  auto placed = place();
  EXPECT_EQ(launched_uids(placed).size(), 3u);
  EXPECT_NE(uid(0), old0) << "a new instance has a new uid";
  EXPECT_EQ(replica(0).restarts, 1);
}

TEST_F(JobMachine, ParameterServerJobRestartsAFailedReplicaInPlace) {
  running(ps_job());
  const std::string old_uid = uid(1), old_node = node(1);
  auto out = exit(1, 1);  // worker-0 (rank 1)
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_EQ(status().reason, reason::kReplicaRestart);
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u);
  EXPECT_TRUE(killed_uids(out).empty());
  EXPECT_EQ(node(1), old_node);
  auto launched = launched_uids(out);
  ASSERT_EQ(launched.size(), 1u);
  EXPECT_EQ(launched[0], uid(1));
  EXPECT_NE(uid(1), old_uid);
  EXPECT_EQ(count<fx::Release>(out), 0u) << "keeps its node, GPUs and port";
}

TEST_F(JobMachine, AJobWhosePortWasTakenIsPlacedAgainFreeUntilTheRangeLooksHeld) {
  track(start(single_job()));  // restartPolicy Never
  auto refuse = [&] {
    protocol::ReplicaExited e = exit_of(uid(0), 127);
    e.job = "hello";
    e.reason = reason::kPortInUse;
    e.message = "port 9000 is in use: Address already in use";
    return track(settle(m->on_exited(node(0), e)));
  };
  for (int i = 0; i < kFreePortRetries; ++i) {
    place();
    auto out = refuse();
    ASSERT_EQ(status().phase, JobPhase::kRestarting) << i;
    EXPECT_EQ(status().reason, reason::kRescheduled);
    EXPECT_EQ(status().restarts, 0);
    EXPECT_EQ(count<fx::RequestPlacement>(out), 1u);
  }
  place();
  refuse();
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kPortInUse);
}

TEST_F(JobMachine, TheFreeRetriesOfATakenPortStartAgainOnceTheJobHasRun) {
  track(start(gang(2)));
  auto refuse = [&] {
    protocol::ReplicaExited e = exit_of(uid(1), 127);
    e.reason = reason::kPortInUse;
    track(settle(m->on_exited(node(1), e)));
    // The gang restart stops the other replica; its end lets the gang be placed again.
    track(settle(m->on_exited(node(0), exit_of(uid(0), 0, 15))));
  };
  for (int i = 0; i < kFreePortRetries - 1; ++i) {
    place();
    refuse();
  }
  place();
  start_all();
  ASSERT_EQ(status().phase, JobPhase::kRunning);
  for (int i = 0; i < kFreePortRetries - 1; ++i) {
    refuse();
    place();
  }
  EXPECT_EQ(status().restarts, 0) << "every taken port was free: the job ran in between";
}

TEST_F(JobMachine, RestartsPastTheBackoffLimitFailTheJob) {
  running(single_job(spec::RestartPolicy::kOnFailure));  // backoffLimit 6 by default
  for (int i = 0; i < 6; ++i) {
    exit(0, 1);
    place();
    start_all();
  }
  EXPECT_EQ(status().restarts, 6);
  exit(0, 1);
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kBackoffLimitExceeded);
}

TEST_F(JobMachine, StaleOrRepeatedExitIsAcknowledgedAtOnceWithoutAWrite) {
  running(gang(1));
  auto out = m->on_exited(node(0), exit_of("fmnist-worker-0-99", 1));
  EXPECT_EQ(count<fx::Persist>(out), 0u);
  ASSERT_EQ(all<fx::AckExit>(out).size(), 1u);
  EXPECT_EQ(status().phase, JobPhase::kRunning);
}

// ---- nodes ---------------------------------------------------------------------------

TEST_F(JobMachine, LostNodeFailsItsReplicasAndRestartsTheGangElsewhere) {
  running(gang(2));
  auto out = track(settle(m->on_node_lost(node(1))));
  EXPECT_EQ(replica(1).reason, reason::kNodeLost);
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_EQ(killed_uids(out), std::vector<std::string>{uid(0)});
  auto done = exit(0, 143);
  EXPECT_EQ(count<fx::RequestPlacement>(done), 1u);
}

TEST_F(JobMachine, ADrainedNodeRestartsTheWholeGangElsewhereWithoutCountingARestart) {
  running(gang(2));  // worker-0 on a, worker-1 on b
  auto out = track(settle(m->on_evict("b")));
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_EQ(status().reason, reason::kEvicted);
  EXPECT_EQ(
      status().message,
      "node b is drained: worker-1 evicted; restarting the whole gang elsewhere (not counted)");
  EXPECT_EQ(status().restarts, 0) << "an eviction is no failure of the job";
  EXPECT_EQ(killed_uids(out), (std::vector<std::string>{uid(0), uid(1)}));
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u) << "placed again only once both have stopped";

  exit(0, 143);
  auto last = exit(1, 143);
  EXPECT_EQ(count<fx::RequestPlacement>(last), 1u);
  EXPECT_EQ(replica(0).state, ReplicaState::kPending);
  EXPECT_EQ(replica(1).node, "");
}

TEST_F(JobMachine, ANotebooksServerRestartsOnlyOnTheNodeItFirstLandedOnWhereItsWorkspaceIs) {
  JobRecord record;
  record.status.owner = "notebook/alice";
  auto first = track(start(single_job(spec::RestartPolicy::kOnFailure), record));
  ASSERT_EQ(all<fx::RequestPlacement>(first).at(0).gang.node, "")
      << "the first server goes anywhere";
  place();
  start_all();
  EXPECT_EQ(status().pinned_node, "a");
  settle(m->on_evict("a"));
  EXPECT_EQ(status().message,
            "node a is drained: main-0 evicted; restarting the whole gang on a, where it is "
            "pinned, once uncordoned (not counted)");
  auto requests = all<fx::RequestPlacement>(exit(0, 143));
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].gang.node, "a");
}

TEST_F(JobMachine, AReplicaAskedToStopOrEndedIsNoLongerReady) {
  running(gang(2));
  for (size_t i = 0; i < 2; ++i) {
    protocol::ReplicaReadiness readiness;
    readiness.uid = uid(i);
    readiness.ready = true;
    settle(m->on_readiness(node(i), readiness));
    ASSERT_TRUE(replica(i).ready);
  }
  settle(m->on_node_lost(node(1)));  // ends worker-1, stops worker-0 for the gang restart
  EXPECT_FALSE(replica(1).ready) << "an ended instance answers nothing";
  EXPECT_EQ(replica(0).state, ReplicaState::kTerminating);
  EXPECT_FALSE(replica(0).ready) << "routed to while it stops";
}

TEST_F(JobMachine, ADrainOfANodeWithoutItsReplicasOrOfAnEndedJobChangesNothing) {
  running(gang(2));
  EXPECT_TRUE(m->on_evict("z").empty());
  EXPECT_EQ(status().phase, JobPhase::kRunning);
  exit(0, 0);
  exit(1, 0);
  ASSERT_EQ(status().phase, JobPhase::kSucceeded);
  EXPECT_TRUE(m->on_evict("a").empty());
}

TEST_F(JobMachine, KillThatIsNeverAnsweredCountsTheReplicaLost) {
  auto s = gang(2);
  running(s);
  auto out = m->on_delete(1);
  auto unanswered = timers(out, Kind::kKillUnanswered);
  ASSERT_EQ(unanswered.size(), 2u);
  settle(m->on_timer(unanswered[0]));
  EXPECT_EQ(replica(0).reason, reason::kReplicaLost);
}

// ---- restore and adoption ------------------------------------------------------------------

JobRecord stored_running_gang() {
  JobRecord record;
  record.status.name = "fmnist";
  record.status.phase = JobPhase::kRunning;
  record.attempts = 2;
  for (int i = 0; i < 2; ++i) {
    protocol::ReplicaStatus r;
    r.name = "worker-" + std::to_string(i);
    r.type = "Worker";
    r.index = i;
    r.rank = i;
    r.uid = "fmnist-worker-" + std::to_string(i) + "-" + std::to_string(i);
    r.state = i == 0 ? ReplicaState::kRunning : ReplicaState::kStarting;
    r.node = "a";
    r.epoch = 3;
    r.port = 9000 + i;
    record.status.replicas.push_back(r);
  }
  return record;
}

TEST_F(JobMachine, RestoredJobHoldsItsSlotsAndAdoptsWhatItsNodeReports) {
  auto out = start(gang(2), stored_running_gang(), /*restored=*/true);
  EXPECT_EQ(all<fx::Reserve>(out).size(), 2u);
  EXPECT_EQ(timers(out, Kind::kReportMissing).size(), 2u);
  EXPECT_EQ(count<fx::RequestPlacement>(out), 0u);

  NodeReport report{"a", 4, {uid(0), uid(1)}};
  auto adopted = settle(m->on_node_report(report));
  EXPECT_EQ(replica(0).state, ReplicaState::kRunning);
  EXPECT_EQ(replica(1).state, ReplicaState::kRunning);
  EXPECT_EQ(replica(1).epoch, 4u);
  EXPECT_EQ(count<fx::Launch>(adopted), 0u) << "adopted, never started twice";
  EXPECT_EQ(status().restarts, 0);
  // Both were confirmed: the missing-report timers do nothing.
  for (const auto& t : timers(out, Kind::kReportMissing)) EXPECT_TRUE(m->on_timer(t).empty());
}

TEST_F(JobMachine, ReplicaNeverReportedAfterRestoreIsLostAndALaunchThatNeverRanIsNotCounted) {
  auto out = track(start(gang(2), stored_running_gang(), /*restored=*/true));
  auto missing = timers(out, Kind::kReportMissing);
  // worker-1 was only Starting: its launch never ran, so the restart is free.
  auto lost = track(settle(m->on_timer(missing[1])));
  EXPECT_EQ(replica(1).reason, reason::kLaunchLost);
  EXPECT_EQ(status().restarts, 0);
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_EQ(killed_uids(lost), std::vector<std::string>{uid(0)});
}

TEST_F(JobMachine, JobWhoseLaunchWasLostWithTheCoordinatorIsPlacedAgainNotFailed) {
  JobRecord record;
  record.status.name = "hello";
  protocol::ReplicaStatus r;
  r.name = "main-0";
  r.type = "Main";
  r.uid = "hello-main-0-0";
  r.state = ReplicaState::kStarting;  // stored as placed; the launch died with the old process
  r.node = "a";
  record.status.replicas.push_back(r);
  record.attempts = 1;
  auto out = track(start(single_job(spec::RestartPolicy::kNever), record, /*restored=*/true));
  auto lost = track(settle(m->on_timer(timers(out, Kind::kReportMissing).at(0))));
  EXPECT_EQ(status().phase, JobPhase::kRestarting);
  EXPECT_EQ(status().reason, reason::kRescheduled) << status().message;
  EXPECT_EQ(count<fx::RequestPlacement>(lost), 1u);
  EXPECT_EQ(status().restarts, 0);
  auto placed = place();
  EXPECT_EQ(launched_uids(placed), std::vector<std::string>{replica_uid("hello", now, "main-0", 1)})
      << "a new instance, past the one the record holds";
  start_all();
  EXPECT_EQ(status().phase, JobPhase::kRunning);
}

TEST_F(JobMachine, ALaunchItsNodeNeverAnswersIsPlacedAgainAndOneAnsweredIsLeftAlone) {
  track(start(single_job(spec::RestartPolicy::kNever)));
  auto placed = track(place());
  auto unanswered = timers(placed, Kind::kLaunchUnanswered);
  ASSERT_EQ(unanswered.size(), 1u) << "armed with the launch";
  EXPECT_EQ(unanswered[0].uid, uid(0));
  // The agent had just registered again and dropped the launch of the epoch before.
  auto lost = track(settle(m->on_timer(unanswered[0])));
  EXPECT_EQ(replica(0).reason, reason::kLaunchLost);
  EXPECT_EQ(status().restarts, 0) << "it never ran: the new placement is free";
  EXPECT_EQ(count<fx::RequestPlacement>(lost), 1u);
  auto again = track(place());
  start_all();
  EXPECT_EQ(status().phase, JobPhase::kRunning);
  // Answered now: its own timer does nothing.
  EXPECT_TRUE(m->on_timer(timers(again, Kind::kLaunchUnanswered).at(0)).empty());
  EXPECT_EQ(status().phase, JobPhase::kRunning);
}

TEST_F(JobMachine, RestoredJobWithNothingPlacedAsksForPlacementAgain) {
  JobRecord record;
  record.status.name = "fmnist";
  auto out = start(gang(2), record, /*restored=*/true);
  EXPECT_EQ(count<fx::RequestPlacement>(out), 1u);
}

TEST_F(JobMachine, NodeReportingAnInstanceWeNoLongerOwnIsToldToKillIt) {
  running(gang(1));
  NodeReport report{node(0), 9, {uid(0), "fmnist-worker-0-old"}};
  auto out = m->on_node_report(report);
  EXPECT_EQ(killed_uids(out), std::vector<std::string>{"fmnist-worker-0-old"});
}

// ---- deadlines, TTL and deletion -------------------------------------------------------------

TEST_F(JobMachine, ActiveDeadlineFailsTheJobAndStopsEveryReplica) {
  auto s = gang(2);
  s.run_policy.active_deadline_seconds = 30;
  auto created = track(start(s));
  auto deadline = all<fx::StartTimer>(created);
  ASSERT_EQ(deadline.size(), 1u);
  EXPECT_EQ(deadline[0].after, std::chrono::seconds(30));
  place();
  start_all();
  now += 30'000;
  auto out = settle(m->on_timer(deadline[0].timer));
  EXPECT_EQ(status().phase, JobPhase::kFailed);
  EXPECT_EQ(status().reason, reason::kDeadlineExceeded);
  EXPECT_EQ(killed_uids(out).size(), 2u);
}

TEST_F(JobMachine, FinishedJobIsDeletedAfterItsTtl) {
  auto s = single_job();
  s.run_policy.ttl_seconds_after_finished = 60;
  running(s);
  auto out = exit(0, 0);
  auto expire = timers(out, Kind::kExpire);
  ASSERT_EQ(expire.size(), 1u);
  auto deleting = m->on_timer(expire[0]);
  EXPECT_EQ(count<fx::EraseRecord>(deleting), 1u);
  auto erased = m->on_erased(Status::Ok());
  EXPECT_EQ(count<fx::Stop>(erased), 1u);
}

TEST_F(JobMachine, DeleteStopsReplicasAndCompletesWhenTheLastOneEnds) {
  running(gang(2));
  auto out = m->on_delete(1);
  EXPECT_EQ(killed_uids(out).size(), 2u);
  EXPECT_EQ(count<fx::EraseRecord>(out), 0u);
  EXPECT_EQ(count<fx::EraseRecord>(exit(0, 143)), 0u);
  auto last = exit(1, 143);
  EXPECT_EQ(count<fx::EraseRecord>(last), 1u) << "erased once the last exit is stored";
  auto erased = m->on_erased(Status::Ok());
  auto answers = all<fx::AnswerDelete>(erased);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].requests, std::vector<uint64_t>{1});
  EXPECT_OK(answers[0].status);
}

TEST_F(JobMachine, TheManagerForgetsADeletedJobBeforeTheClientHearsItIsGone) {
  running(gang(1));
  m->on_delete(1);
  exit(0, 143);
  auto erased = m->on_erased(Status::Ok());
  ASSERT_EQ(erased.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<fx::RemoveFiles>(erased[0]));
  EXPECT_TRUE(std::holds_alternative<fx::Stop>(erased[1]))
      << "a get sent on the answer finds nothing";
  EXPECT_TRUE(std::holds_alternative<fx::AnswerDelete>(erased[2]));
}

TEST_F(JobMachine, AnErasedJobHasTheFilesOfEveryReplicaItRanRemovedAndNoOtherJobs) {
  running(gang(2));
  const std::string first = uid(0);
  exit(0, 1);  // the gang restarts: a second instance of each worker
  place();
  start_all();
  ASSERT_NE(uid(0), first);
  m->on_delete(1);
  exit(0, 143);
  exit(1, 143);
  auto removes = all<fx::RemoveFiles>(m->on_erased(Status::Ok()));
  ASSERT_EQ(removes.size(), 1u);
  const auto& files = removes[0].files;
  EXPECT_EQ(files.job, "fmnist");
  EXPECT_EQ(files.replicas, (std::vector<std::string>{"worker-0", "worker-1"}));
  for (const std::string& u : {first, uid(0), uid(1)}) {
    EXPECT_EQ(u.rfind(files.uid_prefix, 0), 0u) << u << " begins with " << files.uid_prefix;
  }
  EXPECT_NE(
      replica_uid("fmnist", status().created_ms + 1, "worker-0", 0).rfind(files.uid_prefix, 0), 0u)
      << "the job created again under its name keeps its files";
}

TEST_F(JobMachine, AJobDeletedBeforeItRanHasNoFilesToRemove) {
  start(gang(2));
  m->on_delete(1);
  EXPECT_EQ(count<fx::RemoveFiles>(m->on_erased(Status::Ok())), 0u);
}

TEST_F(JobMachine, ConcurrentDeletesAreAllAnswered) {
  running(gang(1));
  m->on_delete(1);
  auto second = m->on_delete(2);
  EXPECT_TRUE(killed_uids(second).empty()) << "the first delete already stopped it";
  exit(0, 143);
  auto answers = all<fx::AnswerDelete>(m->on_erased(Status::Ok()));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].requests, (std::vector<uint64_t>{1, 2}));
}

TEST_F(JobMachine, DeleteThatTheStoreRefusesIsReportedAndTheJobStays) {
  running(single_job());
  exit(0, 0);
  auto out = m->on_delete(4);
  ASSERT_EQ(count<fx::EraseRecord>(out), 1u);
  auto erased = m->on_erased(Internal("disk I/O error"));
  EXPECT_EQ(count<fx::Stop>(erased), 0u);
  auto answers = all<fx::AnswerDelete>(erased);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(m->deleting());
  EXPECT_EQ(count<fx::EraseRecord>(m->on_delete(5)), 1u) << "a later delete tries again";
}

TEST_F(JobMachine, DeleteCompletesAfterItsTimeoutEvenIfNoReplicaReports) {
  running(gang(1));
  auto out = m->on_delete(1);
  auto timeout = timers(out, Kind::kDeleteTimeout);
  ASSERT_EQ(timeout.size(), 1u);
  EXPECT_EQ(count<fx::EraseRecord>(m->on_timer(timeout[0])), 1u);
}

// ---- metrics and queries
// -------------------------------------------------------------------------

TEST_F(JobMachine, LeaderMetricsBecomeTheJobsHeadlineAndEveryReplicasAreStored) {
  running(gang(2));
  protocol::MetricsReport leader{uid(0), "fmnist", {{"accuracy", 0.9, 1, now}}};
  auto out = m->on_metrics(leader);
  EXPECT_EQ(count<fx::StoreMetrics>(out), 1u);
  EXPECT_DOUBLE_EQ(status().metrics.at("accuracy"), 0.9);
  protocol::MetricsReport other{uid(1), "fmnist", {{"accuracy", 0.1, 1, now}}};
  auto other_out = m->on_metrics(other);
  EXPECT_EQ(count<fx::StoreMetrics>(other_out), 1u);
  EXPECT_DOUBLE_EQ(status().metrics.at("accuracy"), 0.9);
}

TEST_F(JobMachine, MetricsAPipelineStepLoggedAreStoredAsTheLeadersEvenAfterItEnded) {
  running(gang(2));
  exit(0, 0);
  exit(1, 0);
  ASSERT_EQ(status().phase, protocol::JobPhase::kSucceeded);
  auto out = m->on_logged_metrics({{"auc", 0.97, 0, now}});
  auto stored = all<fx::StoreMetrics>(out);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].uid, m->locate("").uid);
  EXPECT_DOUBLE_EQ(status().metrics.at("auc"), 0.97);
}

TEST_F(JobMachine, MetricNamesPastTheLimitAreDroppedWithOneWarning) {
  running(gang(1));
  const int limit = ClusterPolicy{}.max_metric_names;
  protocol::MetricsReport many{uid(0), "fmnist", {}};
  for (int i = 0; i < limit + 10; ++i) many.samples.push_back({"m" + std::to_string(i), 1, 1, now});
  auto out = m->on_metrics(many);
  auto stored = all<fx::StoreMetrics>(out);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].samples.size(), static_cast<size_t>(limit));
  EXPECT_EQ(count<fx::RecordEvent>(out), 1u);
  // Known names keep flowing; new ones stay dropped, and the warning is not repeated.
  auto again = m->on_metrics({uid(0), "fmnist", {{"m0", 2, 2, now}, {"fresh", 1, 2, now}}});
  ASSERT_EQ(all<fx::StoreMetrics>(again).size(), 1u);
  EXPECT_EQ(all<fx::StoreMetrics>(again)[0].samples.size(), 1u);
  EXPECT_EQ(count<fx::RecordEvent>(again), 0u);
}

TEST_F(JobMachine, LocateFindsTheLeaderOrANamedReplica) {
  running(ps_job());
  EXPECT_EQ(m->locate("").uid, uid(1)) << "worker-0 decides a PS job";
  EXPECT_EQ(m->locate("ps-0").uid, uid(0));
  EXPECT_FALSE(m->locate("ps-0").finished);
  EXPECT_TRUE(m->locate("nope").uid.empty());
  EXPECT_FALSE(m->locate("nope").exists);
  EXPECT_TRUE(m->locate("ps-0").exists);
}

TEST_F(JobMachine, StatusCountsReplicasPerType) {
  running(ps_job());
  exit(2, 0);  // worker-1
  const auto st = m->status();
  EXPECT_EQ(st.replica_statuses.at("PS").active, 1);
  EXPECT_EQ(st.replica_statuses.at("Worker").active, 1);
  EXPECT_EQ(st.replica_statuses.at("Worker").succeeded, 1);
  EXPECT_TRUE(m->summary().manifest.empty());
}

}  // namespace
}  // namespace cadre::actors::job_state_machine_test

// What an ended replica instance means for its job: an exit the agent reported, a
// node declared lost or drained, an end nobody reported; and the restarts they lead
// to. Part of JobStateMachine (job_state_machine.h), with job_state_machine.cc and
// job_state_machine_placement.cc.
#include "actors/job_state_machine.h"

namespace cadre::actors {

using protocol::EventType;
using protocol::JobPhase;
using protocol::ReplicaState;
using Verdict = ExitDecision::Verdict;
namespace reason = protocol::reason;

void JobStateMachine::restart(JobEffects& out, std::vector<Deferred>& then, size_t i,
                              const ExitDecision& d, const std::string& what) {
  auto& r = replicas()[i];
  if (d.counts) rec_.status.restarts++;
  const std::string count = d.counts
                                ? " (restart " + std::to_string(rec_.status.restarts) + " of " +
                                      std::to_string(spec_.run_policy.backoff_limit) + ")"
                                : " (not counted: the launch never ran)";
  if (d.verdict == Verdict::kRestartReplica) {
    const std::string message = what + "; restarting it in place" + count;
    set_phase(JobPhase::kRestarting, reason::kReplicaRestart, message);
    event(out, EventType::kWarning, reason::kReplicaRestart, message);
    r.restarts++;
    new_instance(r);
    then.push_back(LaunchIfCurrent{i, r.uid});
    return;
  }
  // A launch lost with a crashed coordinator never ran: place it again, free.
  const char* why = d.counts ? reason::kGangRestart : reason::kRescheduled;
  const std::string message =
      what + (d.counts ? "; restarting the whole gang" + count
                       : "; the launch never ran, placing the gang again (not counted)");
  set_phase(JobPhase::kRestarting, why, message);
  event(out, EventType::kWarning, why, message);
  for (auto& other : replicas()) {
    other.restarts++;
    terminate(out, other, "gang restart");
  }
  if (none_alive()) place_gang_again(out);
}

// Replica i's instance has ended (state, exit_code and reason are set); it was
// Terminating when we had asked it to stop. What must wait for the write goes to `then`.
void JobStateMachine::handle_end(JobEffects& out, std::vector<Deferred>& then, size_t i,
                                 bool was_terminating, int32_t signal, const std::string& detail) {
  auto& r = replicas()[i];
  r.ready = false;  // an ended instance answers nothing
  const std::string what = describe_exit(r, signal, detail);
  const bool over = protocol::is_terminal(rec_.status.phase) || deleting_;
  const bool suspended = rec_.status.phase == JobPhase::kSuspended;
  if (over || suspended || was_terminating) {
    // What we stopped because the job is over (or suspended) neither failed nor
    // succeeded: a PS killed once the workers succeeded is no failed replica of a
    // succeeded job, and an MPI worker's `cadre-rsh serve` that exits 0 on our
    // SIGTERM finished nothing. One that ended on its own before the kill reached
    // it keeps its outcome.
    if ((over || suspended) && was_terminating &&
        (r.state == ReplicaState::kFailed || r.reason == reason::kKilled)) {
      r.state = ReplicaState::kStopped;
    }
    out.push_back(job_effect::Release{slot_key(r)});
    // The last old instance of a gang restart (or of a suspension that was resumed
    // while it ended) is gone: now the new gang may start.
    const auto phase = rec_.status.phase;
    if (!over && (phase == JobPhase::kRestarting || phase == JobPhase::kQueued) && none_alive()) {
      place_gang_again(out);
    }
    return;
  }
  const ExitDecision d =
      decide_after_exit(spec_, replicas(), i, rec_.status.restarts, port_retries_);
  if (r.reason == reason::kPortInUse) ++port_retries_;
  switch (d.verdict) {
    case Verdict::kNone:
      out.push_back(job_effect::Release{slot_key(r)});
      event(out, EventType::kNormal, reason::kReplicaCompleted, what);
      return;
    case Verdict::kSucceeded:
      out.push_back(job_effect::Release{slot_key(r)});
      rec_.status.exit_code = r.exit_code;
      finish(out, JobPhase::kSucceeded, d.reason, d.message);
      return;
    case Verdict::kFail:
      out.push_back(job_effect::Release{slot_key(r)});
      rec_.status.exit_code = r.exit_code;
      finish(out, JobPhase::kFailed, d.reason, d.message.empty() ? what : what + "; " + d.message);
      return;
    case Verdict::kRestartReplica:
      restart(out, then, i, d, what);
      return;
    case Verdict::kRestartGang:
      out.push_back(job_effect::Release{slot_key(r)});
      restart(out, then, i, d, what);
      return;
  }
}

JobEffects JobStateMachine::on_exited(const std::string& node,
                                      const protocol::ReplicaExited& exit) {
  JobEffects out;
  auto i = find_uid(exit.uid);
  if (!i || replicas()[*i].node != node || !protocol::is_alive(replicas()[*i].state)) {
    // Stale or repeated: nothing to store, let the agent forget it.
    out.push_back(job_effect::AckExit{node, i ? replicas()[*i].epoch : 0, exit.uid});
    return out;
  }
  auto& r = replicas()[*i];
  const bool was_terminating = r.state == ReplicaState::kTerminating;
  const bool ok = exit.exit_code == 0 && exit.signal == 0;
  r.state = ok ? ReplicaState::kSucceeded : ReplicaState::kFailed;
  r.exit_code = exit.exit_code;
  r.reason = exit.reason.empty() ? (ok ? reason::kCompleted : reason::kError) : exit.reason;
  std::vector<Deferred> then{AckIfStored{node, r.epoch, exit.uid}};
  handle_end(out, then, *i, was_terminating, exit.signal, exit.message);
  then.push_back(FinishDeleteIfDone{});
  persist(out, std::move(then));
  return out;
}

// An instance that ended without a report: its node was lost, or it was missing
// after a restart or re-registration, or a kill was never answered.
JobEffects JobStateMachine::end_unreported(size_t i, const std::string& why,
                                           const std::string& detail) {
  JobEffects out;
  std::vector<Deferred> then;
  auto& r = replicas()[i];
  const bool was_terminating = r.state == ReplicaState::kTerminating;
  r.state = ReplicaState::kFailed;
  r.exit_code.reset();
  r.reason = why;
  handle_end(out, then, i, was_terminating, 0, detail);
  then.push_back(FinishDeleteIfDone{});
  persist(out, std::move(then));
  return out;
}

JobEffects JobStateMachine::on_evict(const std::string& node) {
  JobEffects out;
  if (protocol::is_terminal(rec_.status.phase) || deleting_) return out;
  std::string evicted;
  for (const auto& r : replicas()) {
    if (r.node == node && protocol::is_alive(r.state) && r.state != ReplicaState::kTerminating) {
      evicted += (evicted.empty() ? "" : ", ") + r.name;
    }
  }
  if (evicted.empty()) return out;
  // The whole gang, as for any restart: its replicas start together or not at all.
  const std::string& pinned = rec_.status.pinned_node;
  const std::string message =
      "node " + node + " is drained: " + evicted + " evicted; restarting the whole gang " +
      (pinned.empty() ? "elsewhere" : "on " + pinned + ", where it is pinned, once uncordoned") +
      " (not counted)";
  set_phase(JobPhase::kRestarting, reason::kEvicted, message);
  event(out, EventType::kWarning, reason::kEvicted, message);
  for (auto& r : replicas()) {
    r.restarts++;
    terminate(out, r, "evicted: node " + node + " is drained");
  }
  if (none_alive()) place_gang_again(out);
  persist(out);
  return out;
}

JobEffects JobStateMachine::on_node_lost(const std::string& node) {
  JobEffects out;
  std::vector<Deferred> then;
  bool any = false;
  for (size_t i = 0; i < replicas().size(); ++i) {
    auto& r = replicas()[i];
    if (r.node != node || !protocol::is_alive(r.state)) continue;
    any = true;
    const bool was_terminating = r.state == ReplicaState::kTerminating;
    r.state = ReplicaState::kFailed;
    r.exit_code.reset();
    r.reason = reason::kNodeLost;
    handle_end(out, then, i, was_terminating, 0, "node " + node + " stopped heartbeating");
  }
  if (!any) return out;
  then.push_back(FinishDeleteIfDone{});
  persist(out, std::move(then));
  return out;
}

}  // namespace cadre::actors

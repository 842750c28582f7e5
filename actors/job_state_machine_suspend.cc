// Suspend and resume (cadre suspend / resume; Kubeflow's runPolicy.suspend, a
// Kubernetes Job's spec.suspend): a suspended job holds no node until resumed.
// Preemption: stopped by the scheduler for a higher priority, queued again at once.
// Part of JobStateMachine (job_state_machine.h), as are the other
// job_state_machine*.cc files.
#include "actors/job_state_machine.h"

namespace cadre::actors {

using protocol::EventType;
using protocol::JobPhase;
using protocol::ReplicaState;
namespace reason = protocol::reason;

std::string JobStateMachine::ref() const {
  return (rec_.status.kind == "Job" ? "job/" : "trainjob/") + name();
}

JobEffects JobStateMachine::on_suspend(uint64_t request, bool want_suspended,
                                       const std::string& manifest) {
  JobEffects out;
  const JobPhase phase = rec_.status.phase;
  const char* verb = want_suspended ? "suspended" : "resumed";
  if (deleting_) {
    out.push_back(job_effect::AnswerSuspend{
        request, FailedPrecondition(ref() + " is being deleted; it cannot be " + verb), false,
        phase});
    return out;
  }
  if (protocol::is_terminal(phase)) {
    out.push_back(job_effect::AnswerSuspend{
        request,
        FailedPrecondition(ref() + " has finished (" + protocol::to_string(phase) +
                           "); only a queued, running or suspended job can be " + verb),
        false, phase});
    return out;
  }
  if (!manifest.empty()) {
    rec_.status.manifest = manifest;
    spec_.run_policy.suspend = want_suspended;
  }
  const bool changed = (phase == JobPhase::kSuspended) != want_suspended;
  if (changed && want_suspended) {
    suspend(out,
            "suspended: its replicas are stopped and its nodes freed until cadre resume " + ref());
  } else if (changed) {
    resume(out);
  }
  // Even an unchanged answer waits for the store: the state it confirms may be a
  // write still on its way.
  persist(out, {AnswerSuspendIfStored{request, changed}});
  return out;
}

// A queued gang is withdrawn, and an answer already on its way for it is stale.
void JobStateMachine::withdraw_placement(JobEffects& out) {
  out.push_back(job_effect::CancelPlacement{});
  ++placement_attempt_;
  waiting_ = false;
}

void JobStateMachine::suspend(JobEffects& out, const std::string& message) {
  set_phase(JobPhase::kSuspended, reason::kSuspended, message);
  event(out, EventType::kNormal, reason::kSuspended, message);
  withdraw_placement(out);
  for (auto& r : replicas()) {
    if (r.state != ReplicaState::kTerminating) terminate(out, r, "job suspended");
  }
  // Each stopped replica frees its slot as it ends (handle_end); none may be left
  // from a gang that was never placed.
  if (none_alive()) out.push_back(job_effect::Release{name() + "/"});
}

void JobStateMachine::resume(JobEffects& out) {
  rec_.status.resumed_ms = now();
  const bool ending = !none_alive();
  const std::string message =
      ending ? "resumed: the whole gang is queued once its stopped replicas have ended"
             : "resumed: the whole gang is queued";
  set_phase(JobPhase::kQueued, reason::kResumed, message);
  // As Kubeflow's JobSuspended condition: False, saying why.
  for (auto& c : rec_.status.conditions) {
    if (c.type == protocol::ConditionType::kSuspended) {
      c.reason = reason::kResumed;
      c.message = message;
    }
  }
  event(out, EventType::kNormal, reason::kResumed, message);
  arm_deadline(out);
  // Otherwise the last old instance to end queues it (handle_end): no two
  // instances of a rank ever run together.
  if (!ending) place_gang_again(out);
}

JobEffects JobStateMachine::on_preempt(const std::string& by, const std::string& cause) {
  JobEffects out;
  if (protocol::is_terminal(rec_.status.phase) || deleting_ ||
      rec_.status.phase == JobPhase::kSuspended) {
    return out;
  }
  const bool running = std::any_of(replicas().begin(), replicas().end(), [](const auto& r) {
    return protocol::is_alive(r.state) && r.state != ReplicaState::kTerminating;
  });
  if (!running) return out;
  const std::string message = "preempted by job " + by + " (" + cause +
                              "): its replicas are stopped and the whole gang queued again "
                              "(not counted)";
  set_phase(JobPhase::kQueued, reason::kPreempted, message);
  event(out, EventType::kWarning, reason::kPreempted, message);
  withdraw_placement(out);
  for (auto& r : replicas()) {
    if (!protocol::is_alive(r.state)) continue;
    r.restarts++;
    terminate(out, r, "preempted by job " + by);
  }
  // The last stopped instance to end queues the gang again (handle_end).
  persist(out);
  return out;
}

}  // namespace cadre::actors

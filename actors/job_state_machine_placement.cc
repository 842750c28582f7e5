// Placement: what the job asks the scheduler for, and what it does with the
// answer (placed, waiting, never fits). Part of JobStateMachine
// (job_state_machine.h); the rest is in job_state_machine.cc and _exits.cc.
#include "actors/job_state_machine.h"

#include "protocol/codec.h"

namespace cadre::actors {

using protocol::ConditionType;
using protocol::EventType;
using protocol::JobPhase;
using protocol::ReplicaState;
namespace reason = protocol::reason;

void JobStateMachine::request_placement(JobEffects& out) {
  GangRequest gang;
  gang.job = name();
  gang.attempt = ++placement_attempt_;
  waiting_ = false;
  gang.placement = spec_.run_policy.scheduling.placement;
  gang.priority = spec_.run_policy.scheduling.priority;
  gang.node = rec_.status.pinned_node;
  // A service's replicas are jobs of their own: spread them, so one node's loss
  // takes one replica and their CPU is not all taken from one node.
  if (rec_.status.owner.rfind("inferenceservice/", 0) == 0) gang.spread_group = rec_.status.owner;
  gang.preemptible = batch();
  gang.queue = spec_.run_policy.scheduling.queue;
  gang.preempts = batch() && spec_.run_policy.scheduling.preemption ==
                                 spec::PreemptionPolicy::kPreemptLowerPriority;
  // What each launch weighs at least, so that no node whose agent would refuse it is
  // chosen: the replicas as yet unplaced (no node, address, port, GPUs or uid), which
  // placement only adds to. on_placed checks the exact size.
  std::vector<ReplicaStatus> unplaced = replicas();
  for (auto& r : unplaced) {
    r.node.clear();
    r.address.clear();
    r.port = 0;
    r.gpu_indices.clear();
    r.uid.clear();
  }
  const JobIdentity id = identity();
  for (size_t i = 0; i < unplaced.size(); ++i) {
    const auto& r = replicas()[i];
    const auto launch_bytes = protocol::encode(make_launch(spec_, unplaced, i, id)).size();
    gang.members.push_back({slot_key(r), spec_of(r).tmpl.resources,
                            static_cast<int64_t>(launch_bytes), spec_of(r).tmpl.node_selector});
  }
  out.push_back(job_effect::RequestPlacement{std::move(gang)});
}

JobEffects JobStateMachine::on_placed(int64_t attempt, const std::vector<Placement>& placements) {
  JobEffects out;
  if (attempt != placement_attempt_ || protocol::is_terminal(rec_.status.phase) || deleting_ ||
      placements.size() != replicas().size()) {
    // Nothing of this job runs while its gang waits for placement: free it all.
    out.push_back(job_effect::Release{name() + "/"});
    return out;
  }
  std::string where;
  std::vector<Deferred> launches;
  for (size_t i = 0; i < placements.size(); ++i) {
    auto& r = replicas()[i];
    const auto& p = placements[i];
    r.node = p.node;
    r.address = p.address;
    r.epoch = p.epoch;
    r.port = p.port;
    r.gpu_indices = p.gpu_indices;
    new_instance(r);
    confirmed_[i] = true;
    launches.push_back(LaunchIfCurrent{i, r.uid});
    where += (where.empty() ? "" : ", ") + r.name + "@" + p.node +
             (p.port ? ":" + std::to_string(p.port) : "");
  }
  if (auto why = oversized_launch(placements)) {
    // Sent, it would end that agent's connection and never arrive. Nothing ran, as
    // when the store gives up: the gang is abandoned and the job fails, naming sizes.
    for (auto& r : replicas()) {
      r.state = ReplicaState::kFailed;
      r.reason = reason::kLaunchTooLarge;
    }
    out.push_back(job_effect::Release{name() + "/"});
    finish(out, JobPhase::kFailed, reason::kLaunchTooLarge, *why);
    persist(out);
    return out;
  }
  // A notebook's first server makes the workspace on the node it lands on, and the
  // notebook pins its later servers there; this server's own restarts (a lost or
  // drained node) must go nowhere else either.
  if (rec_.status.pinned_node.empty() && rec_.status.owner.rfind("notebook/", 0) == 0) {
    rec_.status.pinned_node = placements[0].node;
  }
  if (waiting_) {
    waiting_ = false;
    rec_.status.message.clear();
  }
  if (rec_.status.phase == JobPhase::kQueued) rec_.status.reason = reason::kScheduled;
  event(out, EventType::kNormal, reason::kScheduled,
        "gang of " + std::to_string(placements.size()) + " placed: " + where);
  // Launch only once the placement is durable, so a restart can find the replicas.
  persist(out, std::move(launches));
  return out;
}

std::optional<std::string> JobStateMachine::oversized_launch(
    const std::vector<Placement>& placements) const {
  const JobIdentity id = identity();
  for (size_t i = 0; i < placements.size(); ++i) {
    const int64_t limit = placements[i].max_message_bytes;
    if (limit <= 0) continue;  // an agent that does not say: nothing to check against
    const auto bytes =
        static_cast<int64_t>(protocol::encode(make_launch(spec_, replicas(), i, id)).size());
    if (bytes <= limit) continue;
    return "replica " + replicas()[i].name + "'s launch is " + std::to_string(bytes) +
           " bytes; node " + placements[i].node + " accepts at most " + std::to_string(limit) +
           " (its agent's --max-message-bytes): make the command, args and env smaller or raise "
           "that limit";
  }
  return std::nullopt;
}

JobEffects JobStateMachine::on_waiting(int64_t attempt, const std::string& why) {
  JobEffects out;
  const auto phase = rec_.status.phase;
  if (attempt != placement_attempt_ || deleting_ || why == rec_.status.message ||
      (phase != JobPhase::kQueued && phase != JobPhase::kRestarting)) {
    return out;
  }
  // One event per attempt; later changes (capacity freed or taken elsewhere) only
  // rewrite the message, so a long wait does not fill the event log.
  if (!waiting_) event(out, EventType::kNormal, reason::kQueued, why);
  waiting_ = true;
  rec_.status.message = why;
  if (phase == JobPhase::kQueued) {
    rec_.status.reason = reason::kQueued;  // what the REASON column shows while it waits
    set_condition(ConditionType::kQueued, reason::kQueued, why);
  }
  persist(out);
  return out;
}

JobEffects JobStateMachine::on_never_fits(int64_t attempt, const NeverFits& never) {
  JobEffects out;
  if (attempt != placement_attempt_ || protocol::is_terminal(rec_.status.phase)) return out;
  finish(out, JobPhase::kFailed, never.reason, never.message);
  persist(out);
  return out;
}

// Every old instance has ended: place the whole gang again.
void JobStateMachine::place_gang_again(JobEffects& out) {
  out.push_back(job_effect::Release{name() + "/"});
  for (auto& r : replicas()) {
    r.state = ReplicaState::kPending;
    r.node.clear();
    r.address.clear();
    r.port = 0;
    r.gpu_indices.clear();
    r.started_ms = 0;
  }
  request_placement(out);
}

}  // namespace cadre::actors

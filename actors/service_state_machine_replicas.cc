// The replicas of an InferenceService's revisions: how many each should have,
// starting, draining and replacing them, and what their jobs report
// (service_state_machine.h has the rules).
#include "actors/service_state_machine.h"

#include <algorithm>

namespace cadre::actors {
namespace {

using protocol::EventType;
using protocol::JobPhase;
using protocol::ServiceReplicaState;
namespace reason = protocol::reason;

}  // namespace

// ---- replicas ---------------------------------------------------------------------

// A revision runs while it should have traffic or still serves some; its count is
// what its autoscaler asked for, within its predictor's bounds, and one to begin
// with when minReplicas is 0 (Knative's initial scale: a revision proves it can
// serve before it may scale to zero).
int32_t ServiceStateMachine::desired_of(const Revision& rev) const {
  if (deleting_) return 0;
  auto wanted = wanted_.find(rev.name);
  bool runs = wanted != wanted_.end() && wanted->second > 0;
  for (const auto& t : st().traffic) runs = runs || (t.revision_name == rev.name && t.percent > 0);
  if (!runs) return 0;
  const int32_t min = rev.min_replicas;
  auto scaled = autoscaled_.find(rev.name);
  const int32_t want = scaled != autoscaled_.end() ? scaled->second : std::max(min, 1);
  return std::clamp(want, min, std::max({min, rev.max_replicas, 1}));
}

void ServiceStateMachine::start_replica(ServiceEffects& out, Revision& rev) {
  Replica r;
  r.job = rev.name + "-" + std::to_string(rev.next_replica++);
  r.revision = rev.name;
  r.state = ServiceReplicaState::kPending;
  r.created_ms = now();
  event(out, EventType::kNormal, reason::kReplicaCreated, "replica " + r.job + " of " + rev.name);
  const std::string job = r.job;
  st().replicas.push_back(std::move(r));
  // The job is created only once the record naming it is stored.
  persist(out, {CreateIfWanted{job}});
}

void ServiceStateMachine::drain(ServiceEffects& out, Replica& r, const std::string& why) {
  r.state = ServiceReplicaState::kDraining;
  r.message = why;
  event(out, EventType::kNormal, reason::kReplicaDraining, "replica " + r.job + ": " + why);
  out.push_back(service_effect::StartTimer{r.job, options_.drain_delay});
}

void ServiceStateMachine::scale(ServiceEffects& out, Revision& rev) {
  rev.desired_replicas = desired_of(rev);
  std::vector<Replica*> running;  // live, and staying where they are
  std::vector<Replica*> evicted;  // live, on a drained node
  for (auto& r : st().replicas) {
    if (r.revision == rev.name && live(r)) (r.evicted ? evicted : running).push_back(&r);
  }
  auto is_ready = [](const Replica* r) { return r->state == ServiceReplicaState::kReady; };
  const auto ready_staying =
      static_cast<int32_t>(std::count_if(running.begin(), running.end(), is_ready));
  rev.ready_replicas =
      ready_staying + static_cast<int32_t>(std::count_if(evicted.begin(), evicted.end(), is_ready));
  // Evicted replicas serve on while the staying ones are fewer than desired: those
  // beyond that drain, ready ones kept first.
  std::stable_partition(evicted.begin(), evicted.end(), is_ready);
  int32_t keep = std::max(0, rev.desired_replicas - ready_staying);
  for (Replica* r : evicted) {
    if (keep-- > 0) continue;
    if (is_ready(r)) rev.ready_replicas--;
    drain(out, *r, "its node " + r->node + " is drained and a replica elsewhere serves instead");
  }
  int32_t have = static_cast<int32_t>(running.size());
  if (have < rev.desired_replicas && !backing_off_) {
    for (; have < rev.desired_replicas; ++have) start_replica(out, rev);
    return;
  }
  if (have <= rev.desired_replicas) return;
  // Too many: the ones not serving go first, then the newest.
  std::stable_sort(running.begin(), running.end(), [](const Replica* a, const Replica* b) {
    const bool ra = a->state == ServiceReplicaState::kReady;
    const bool rb = b->state == ServiceReplicaState::kReady;
    if (ra != rb) return !ra;
    return a->created_ms > b->created_ms;
  });
  for (Replica* r : running) {
    if (have-- <= rev.desired_replicas) break;
    if (r->state == ServiceReplicaState::kReady) rev.ready_replicas--;
    std::string why = "scaled in";
    if (rev.desired_replicas == 0) {
      const auto share = wanted_.find(rev.name);
      const bool has_traffic = share != wanted_.end() && share->second > 0;
      why = has_traffic ? "scaled to zero" : "revision " + rev.name + " has no traffic";
    }
    drain(out, *r, why);
  }
}

// ---- what the replicas' jobs report -------------------------------------------------

ServiceEffects ServiceStateMachine::on_job_created(const std::string& job, const Status& status) {
  ServiceEffects out;
  creating_.erase(job);
  Replica* r = replica(job);
  if (r == nullptr) return out;
  if (deleting_) {
    if (status.ok()) {
      deleting_jobs_.insert(job);
      out.push_back(service_effect::DeleteJob{job});
    } else {
      drop_replica(job);
      maybe_erase(out);
    }
    return out;
  }
  if (status.ok()) return out;
  fail(out, *r, "its job was not created: " + status.message());
  drop_replica(job);
  reconcile(out);
  persist(out);
  return out;
}

// The replica's job ended or never came to be: count it against its revision and
// hold replacements back while they keep failing (doubling, capped).
void ServiceStateMachine::fail(ServiceEffects& out, Replica& r, const std::string& message,
                               bool counts) {
  r.state = ServiceReplicaState::kFailed;
  r.message = message;
  last_failure_ = r.job + ": " + message;
  event(out, EventType::kWarning, reason::kReplicaFailed, "replica " + last_failure_);
  Revision* rev = revision(r.revision);
  if (rev == nullptr) return;
  // The first failure is replaced at once (a killed replica, a lost node); only a
  // revision whose replicas keep failing waits.
  if (!counts || ++rev->recent_failures < 2 || backing_off_) return;
  backing_off_ = true;
  auto delay = options_.failure_backoff;
  for (int k = 1; k < rev->recent_failures && delay < options_.failure_backoff_max; ++k) {
    delay *= 2;
  }
  out.push_back(service_effect::StartTimer{"", std::min(delay, options_.failure_backoff_max)});
}

void ServiceStateMachine::drop_replica(const std::string& job) {
  auto& rs = st().replicas;
  rs.erase(std::remove_if(rs.begin(), rs.end(), [&](const Replica& r) { return r.job == job; }),
           rs.end());
}

ServiceEffects ServiceStateMachine::on_job_status(const protocol::JobStatus& job) {
  ServiceEffects out;
  Replica* r = replica(job.name);
  if (r == nullptr || job.replicas.empty()) return out;
  const Replica before = *r;
  const auto& jr = job.replicas[0];
  r->node = jr.node;
  r->address = jr.address;
  r->port = jr.port;
  r->uid = jr.uid;
  if (protocol::is_terminal(job.phase)) {
    if (r->state == ServiceReplicaState::kFailed || r->state == ServiceReplicaState::kDraining) {
      if (!deleting_jobs_.count(job.name) && !creating_.count(job.name)) {
        deleting_jobs_.insert(job.name);
        out.push_back(service_effect::DeleteJob{job.name});
      }
      return out;
    }
    // A fault of the node rather than of the program never holds replacements back.
    const auto& why = jr.reason;
    const bool node_fault = why == reason::kNodeLost || why == reason::kPortInUse ||
                            why == reason::kLaunchLost || why == reason::kLeaseExpired ||
                            why == reason::kReplicaLost;
    fail(out, *r,
         job.reason + (job.message.empty() ? "" : ": " + job.message) + " (cadre logs job/" +
             job.name + ")",
         !node_fault);
    deleting_jobs_.insert(job.name);
    out.push_back(service_effect::DeleteJob{job.name});
  } else if (r->state != ServiceReplicaState::kDraining) {
    const bool ready =
        job.phase == JobPhase::kRunning && jr.state == protocol::ReplicaState::kRunning && jr.ready;
    if (ready) {
      if (r->state != ServiceReplicaState::kReady) {
        r->ready_ms = now();
        event(out, EventType::kNormal, reason::kReplicaReady,
              "replica " + r->job + " on " + r->node + " port " + std::to_string(r->port));
        Revision* rev = revision(r->revision);
        if (rev != nullptr) rev->recent_failures = 0;
        last_failure_.clear();
      }
      r->state = ServiceReplicaState::kReady;
      if (!r->evicted) r->message.clear();  // an evicted one says why it will drain
    } else {
      r->state = job.phase == JobPhase::kQueued ? ServiceReplicaState::kPending
                                                : ServiceReplicaState::kStarting;
      r->message = job.phase == JobPhase::kQueued ? job.message : jr.readiness_message;
    }
  }
  const bool changed = before.state != r->state || before.node != r->node ||
                       before.port != r->port || before.uid != r->uid ||
                       before.message != r->message;
  if (!changed) return out;
  reconcile(out);
  persist(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_job_gone(const std::string& job) {
  ServiceEffects out;
  Replica* r = replica(job);
  if (r == nullptr || deleting_jobs_.count(job)) return out;
  if (live(*r)) fail(out, *r, "its job was deleted");
  drop_replica(job);
  reconcile(out);
  persist(out);
  maybe_erase(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_job_deleted(const std::string& job, const Status& status) {
  ServiceEffects out;
  deleting_jobs_.erase(job);
  if (!status.ok() && status.code() != StatusCode::kNotFound) {
    // Asked again shortly: a replica must not outlive its service.
    event(out, EventType::kWarning, reason::kReplicaFailed,
          "replica " + job + " not deleted yet: " + status.message());
    out.push_back(service_effect::StartTimer{job, options_.failure_backoff});
    return out;
  }
  Replica* r = replica(job);
  if (r != nullptr) {
    event(out, EventType::kNormal, reason::kReplicaStopped, "replica " + job + " stopped");
  }
  drop_replica(job);
  reconcile(out);
  persist(out);
  maybe_erase(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_evict(const std::string& job) {
  ServiceEffects out;
  Replica* r = replica(job);
  if (deleting_ || r == nullptr || !live(*r) || r->evicted) return out;
  if (r->state == ServiceReplicaState::kReady) {
    r->evicted = true;
    r->message =
        "its node " + r->node + " is drained: it serves until a replica elsewhere is ready";
    event(out, EventType::kNormal, reason::kEvicted, "replica " + r->job + ": " + r->message);
    out.push_back(service_effect::StartTimer{r->job, options_.eviction_grace, true});
  } else {
    drain(out, *r, "its node " + r->node + " is drained");  // it serves nothing yet
  }
  reconcile(out);
  persist(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_timer(const std::string& job, bool eviction) {
  ServiceEffects out;
  if (eviction) {
    Replica* r = replica(job);
    if (deleting_ || r == nullptr || !r->evicted || !live(*r)) return out;
    drain(out, *r,
          "its node " + r->node + " is drained and no replica elsewhere was ready within " +
              std::to_string(options_.eviction_grace.count() / 1000) + " s");
    reconcile(out);
    persist(out);
    return out;
  }
  if (job.empty()) {
    backing_off_ = false;
    writes_.retry_due();
    reconcile(out);
    persist(out);
    return out;
  }
  Replica* r = replica(job);
  if (r == nullptr || deleting_jobs_.count(job) || creating_.count(job)) return out;
  if (r->state == ServiceReplicaState::kDraining || r->state == ServiceReplicaState::kFailed ||
      deleting_) {
    deleting_jobs_.insert(job);
    out.push_back(service_effect::DeleteJob{job});
  }
  return out;
}

}  // namespace cadre::actors

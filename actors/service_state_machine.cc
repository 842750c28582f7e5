#include "actors/service_state_machine.h"

#include <algorithm>
#include <cstdio>

#include "actors/service_replica_job.h"
#include "protocol/spec/manifest.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::ConditionStatus;
using protocol::EventType;
using protocol::JobPhase;
using protocol::ServiceConditionType;
using protocol::ServiceReplicaState;
namespace reason = protocol::reason;

}  // namespace

std::string revision_name(const std::string& service, int64_t generation) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%05lld", static_cast<long long>(generation));
  return service + "-" + digits;
}

ServiceRecord ServiceStateMachine::first_record(const ServiceApply& apply, std::string token,
                                                int64_t now_ms) {
  ServiceRecord rec;
  auto& s = rec.status;
  s.name = apply.spec.metadata.name;
  s.ns = apply.spec.metadata.ns;
  s.created_ms = now_ms;
  s.manifest = apply.manifest;
  s.canary_traffic_percent = apply.spec.canary_traffic_percent;
  s.auth = apply.spec.predictor.auth;
  rec.token = std::move(token);
  protocol::RevisionStatus rev;
  rev.generation = 1;
  rev.name = revision_name(s.name, 1);
  rev.manifest = apply.manifest;
  rev.model_format = spec::model_format_name(apply.spec.predictor.model_format);
  rev.storage_uri = apply.spec.predictor.storage_uri;
  rev.model_path = apply.model_path;
  rev.min_replicas = apply.spec.predictor.min_replicas;
  rev.max_replicas = apply.spec.predictor.max_replicas;
  rev.created_ms = now_ms;
  s.generation = 1;
  s.latest_created_revision = rev.name;
  s.revisions.push_back(std::move(rev));
  return rec;
}

Result<std::unique_ptr<ServiceStateMachine>> ServiceStateMachine::Create(
    ServiceRecord record, ServiceMachineOptions options) {
  std::map<std::string, spec::InferenceServiceSpec> specs;
  for (const auto& rev : record.status.revisions) {
    // Accepted when it was applied, under whatever limits held then.
    auto manifest = spec::parse_manifest(rev.manifest, spec::ManifestLimits::none());
    if (!manifest.ok()) return manifest.status().annotate("revision " + rev.name);
    if (!manifest->inference_service) return Internal("revision " + rev.name + " is no service");
    specs.emplace(rev.name, *manifest->inference_service);
  }
  if (!options.now_ms) options.now_ms = wall_ms;
  return std::unique_ptr<ServiceStateMachine>(
      new ServiceStateMachine(std::move(record), std::move(options), std::move(specs)));
}

ServiceStateMachine::ServiceStateMachine(ServiceRecord record, ServiceMachineOptions options,
                                         std::map<std::string, spec::InferenceServiceSpec> specs)
    : rec_(std::move(record)),
      options_(std::move(options)),
      specs_(std::move(specs)),
      writes_(options_.store_retry) {
  for (const auto& rev : rec_.status.revisions) {
    // A revision at zero stays there after a restart, as a loaded one stays out.
    if (rev.desired_replicas > 0 || scales_to_zero(rev)) {
      autoscaled_[rev.name] = rev.desired_replicas;
    }
  }
}

// ---- bookkeeping ------------------------------------------------------------------

protocol::ServiceReplica* ServiceStateMachine::replica(const std::string& job) {
  for (auto& r : st().replicas) {
    if (r.job == job) return &r;
  }
  return nullptr;
}

protocol::RevisionStatus* ServiceStateMachine::revision(const std::string& name) {
  for (auto& rev : st().revisions) {
    if (rev.name == name) return &rev;
  }
  return nullptr;
}

const protocol::RevisionStatus* ServiceStateMachine::revision(const std::string& name) const {
  for (const auto& rev : st().revisions) {
    if (rev.name == name) return &rev;
  }
  return nullptr;
}

const spec::InferenceServiceSpec& ServiceStateMachine::spec_of(const std::string& rev) const {
  return specs_.at(rev);
}

// A revision with minReplicas 0 that has proven it serves: at zero it keeps its
// traffic, and the ingress holds its requests while a replica starts.
bool ServiceStateMachine::scales_to_zero(const Revision& rev) {
  return rev.min_replicas == 0 && rev.first_ready_ms > 0;
}

bool ServiceStateMachine::servable(const Revision& rev) const {
  return rev.ready_replicas > 0 || (scales_to_zero(rev) && last_failure_.empty());
}

bool ServiceStateMachine::live(const Replica& r) const {
  return r.state == ServiceReplicaState::kPending || r.state == ServiceReplicaState::kStarting ||
         r.state == ServiceReplicaState::kReady;
}

void ServiceStateMachine::event(ServiceEffects& out, EventType type, const std::string& why,
                                const std::string& message) {
  out.push_back(service_effect::RecordEvent{protocol::JobEvent{now(), type, why, message}});
}

void ServiceStateMachine::persist(ServiceEffects& out, std::vector<Deferred> then) {
  // Once a delete has begun nothing is written: a write landing after the erase
  // would bring the service back.
  if (deleting_) return;
  then.emplace_back(std::in_place_type<Publish>);
  out.push_back(service_effect::Persist{writes_.write(std::move(then))});
}

ServiceEffects ServiceStateMachine::on_stored(uint64_t seq, const Status& status) {
  ServiceEffects out;
  if (status.ok()) {
    for (const auto& d : writes_.stored(seq)) run_deferred(out, d);
    return out;
  }
  const auto failure = writes_.failed(seq);
  if (failure.superseded) return out;
  if (failure.give_up) {
    event(out, EventType::kWarning, reason::kStoreUnavailable,
          "the store refused " + std::to_string(failure.failures) +
              " writes; replicas are created again once it takes them: " + status.message());
  }
  if (failure.retry_in) out.push_back(service_effect::StartTimer{"", *failure.retry_in});
  return out;
}

void ServiceStateMachine::run_deferred(ServiceEffects& out, const Deferred& d) {
  if (std::holds_alternative<Publish>(d)) {
    out.push_back(service_effect::PublishSummary{});
    return;
  }
  if (const auto* a = std::get_if<Answer>(&d)) {
    out.push_back(service_effect::AnswerApply{a->request, Status::Ok(), a->action});
    return;
  }
  const auto& job = std::get<CreateIfWanted>(d).job;
  Replica* r = replica(job);
  if (r == nullptr || r->state != ServiceReplicaState::kPending || deleting_ ||
      creating_.count(job)) {
    return;
  }
  const Revision* rev = revision(r->revision);
  creating_.insert(job);
  out.push_back(
      service_effect::CreateJob{job, render_replica_job(st(), spec_of(rev->name), *rev, job)});
}

// ---- revisions and traffic -----------------------------------------------------

void ServiceStateMachine::add_revision(ServiceEffects& out, const ServiceApply& apply) {
  protocol::RevisionStatus rev;
  rev.generation = ++st().generation;
  rev.name = revision_name(name(), rev.generation);
  rev.manifest = apply.manifest;
  rev.model_format = spec::model_format_name(apply.spec.predictor.model_format);
  rev.storage_uri = apply.spec.predictor.storage_uri;
  rev.model_path = apply.model_path;
  rev.min_replicas = apply.spec.predictor.min_replicas;
  rev.max_replicas = apply.spec.predictor.max_replicas;
  rev.created_ms = now();
  specs_[rev.name] = apply.spec;
  st().latest_created_revision = rev.name;
  event(out, EventType::kNormal, reason::kRevisionCreated,
        "revision " + rev.name + " serves " + rev.storage_uri);
  st().revisions.push_back(std::move(rev));
}

namespace {

// Every revision this service routes to, and its share: KServe's rules as pairs.
using Shares = std::vector<std::pair<std::string, int32_t>>;

// The shares each revision should have (KServe's rules).
Shares wanted_shares(const protocol::InferenceServiceStatus& s) {
  const std::string& latest = s.latest_created_revision;
  const std::string& rolled = s.latest_rolledout_revision;
  const auto canary = s.canary_traffic_percent;
  const bool promote = !canary || *canary == 100;
  if (rolled.empty() || (rolled == latest && promote)) return {{latest, 100}};
  if (rolled == latest) {
    // canaryTrafficPercent 0 or P after a promotion: back to the previous revision.
    if (s.previous_rolledout_revision.empty()) return {{latest, 100}};
    return {{s.previous_rolledout_revision, 100 - *canary}, {latest, *canary}};
  }
  const int32_t share = promote ? 100 : *canary;
  return {{rolled, 100 - share}, {latest, share}};
}

}  // namespace

// The latest revision takes all traffic once it is ready and no canary percent
// (or 100) holds it back; the one it replaces becomes the previous.
void ServiceStateMachine::promote_when_ready(ServiceEffects& out) {
  auto& s = st();
  const std::string& latest = s.latest_created_revision;
  const Revision* rev = revision(latest);
  const auto canary = s.canary_traffic_percent;
  const bool promote = !canary || *canary == 100;
  if (!promote || rev == nullptr || !servable(*rev) || s.latest_rolledout_revision == latest) {
    return;
  }
  if (!s.latest_rolledout_revision.empty()) {
    s.previous_rolledout_revision = s.latest_rolledout_revision;
  }
  s.latest_rolledout_revision = latest;
  event(out, EventType::kNormal, reason::kRolledOut, "revision " + latest + " takes all traffic");
}

// The shares revisions can have: one without a ready replica hands its share to
// the ready revision that holds the most traffic now (else the first wanted one
// that is ready), so requests never go where nothing answers. Oldest first.
std::vector<protocol::TrafficTarget> ServiceStateMachine::servable_traffic(
    const Shares& wanted) const {
  auto ready = [&](const std::string& rev_name) {
    const Revision* rev = revision(rev_name);
    return rev != nullptr && servable(*rev);
  };
  std::string fallback;
  int32_t fallback_share = -1;
  for (const auto& t : st().traffic) {
    if (ready(t.revision_name) && t.percent > fallback_share) {
      fallback = t.revision_name;
      fallback_share = t.percent;
    }
  }
  for (const auto& [rev_name, share] : wanted) {
    if (fallback.empty() && ready(rev_name) && share > 0) fallback = rev_name;
  }
  std::vector<protocol::TrafficTarget> traffic;
  auto add = [&](const std::string& rev_name, int32_t percent) {
    for (auto& t : traffic) {
      if (t.revision_name == rev_name) {
        t.percent += percent;
        return;
      }
    }
    traffic.push_back({rev_name, percent, rev_name == st().latest_created_revision});
  };
  for (const auto& [rev_name, share] : wanted) {
    if (share > 0 && !ready(rev_name) && !fallback.empty()) {
      add(fallback, share);
      add(rev_name, 0);
    } else {
      add(rev_name, share);
    }
  }
  std::sort(traffic.begin(), traffic.end(), [&](const auto& a, const auto& b) {
    return revision(a.revision_name)->generation < revision(b.revision_name)->generation;
  });
  return traffic;
}

void ServiceStateMachine::route_traffic(ServiceEffects& out) {
  promote_when_ready(out);
  const Shares wanted = wanted_shares(st());
  std::vector<protocol::TrafficTarget> traffic = servable_traffic(wanted);
  auto& s = st();
  if (traffic.size() != s.traffic.size() ||
      !std::equal(traffic.begin(), traffic.end(), s.traffic.begin(), [](auto& a, auto& b) {
        return a.revision_name == b.revision_name && a.percent == b.percent;
      })) {
    std::string text;
    for (const auto& t : traffic) {
      text += (text.empty() ? "" : ", ") + t.revision_name + " " + std::to_string(t.percent) + "%";
    }
    const bool split =
        traffic.size() > 1 && traffic.back().percent > 0 && traffic.back().percent < 100;
    event(out, EventType::kNormal, split ? reason::kCanary : reason::kRoutesPublished,
          "traffic: " + text);
  }
  s.traffic = std::move(traffic);
  // Wanted shares decide which revisions are kept running (see desired_of).
  wanted_.clear();
  for (const auto& [rev_name, share] : wanted) wanted_[rev_name] = share;
}

void ServiceStateMachine::set_condition(ServiceEffects& out, ServiceConditionType type, bool ok,
                                        const std::string& why, const std::string& message) {
  const auto status = ok ? ConditionStatus::kTrue : ConditionStatus::kFalse;
  for (auto& c : st().conditions) {
    if (c.type != type) continue;
    if (c.status == status) {
      c.reason = why;  // the same state for a new reason: no transition, no event
      c.message = message;
      return;
    }
    c.status = status;
    c.reason = why;
    c.message = message;
    c.last_transition_ms = now();
    if (type == ServiceConditionType::kReady) {
      event(out, ok ? EventType::kNormal : EventType::kWarning, why,
            std::string(ok ? "Ready: " : "not Ready: ") + message);
    }
    return;
  }
  st().conditions.push_back({type, status, why, message, now()});
  if (type == ServiceConditionType::kReady && ok) {
    event(out, EventType::kNormal, why, "Ready: " + message);
  }
}

void ServiceStateMachine::set_conditions(ServiceEffects& out) {
  std::string unready;
  std::string at_zero;  // revisions with traffic and no replica now (scaled to zero)
  for (const auto& t : st().traffic) {
    const Revision* rev = revision(t.revision_name);
    if (t.percent == 0) continue;
    if (rev == nullptr || !servable(*rev)) unready = t.revision_name;
    if (rev != nullptr && rev->ready_replicas == 0) {
      at_zero += (at_zero.empty() ? "" : ", ") + t.revision_name;
    }
  }
  // The latest failure says why better than "no ready replica" does.
  const std::string& failure = last_failure_;
  const bool predictor = unready.empty() && !st().traffic.empty();
  if (predictor) {
    std::string text;
    for (const auto& t : st().traffic) {
      if (t.percent > 0) text += (text.empty() ? "" : ", ") + t.revision_name;
    }
    set_condition(out, ServiceConditionType::kPredictorReady, true, reason::kRevisionReady,
                  "serving from " + text +
                      (at_zero.empty() ? ""
                                       : " (" + at_zero +
                                             " at zero replicas: a request starts one, "
                                             "the ingress holds it meanwhile)"));
  } else if (!failure.empty()) {
    set_condition(out, ServiceConditionType::kPredictorReady, false, reason::kReplicaFailed,
                  failure);
  } else {
    // A replica waiting for capacity (or its probe) says what the wait is for.
    std::string detail;
    for (const auto& r : st().replicas) {
      if (r.revision == unready && live(r) && !r.message.empty()) {
        detail = " (" + r.job + ": " + r.message + ")";
        break;
      }
    }
    set_condition(out, ServiceConditionType::kPredictorReady, false, reason::kNoReadyReplicas,
                  "waiting for a ready replica of " + unready + detail);
  }
  if (ingress_connected_) {
    set_condition(out, ServiceConditionType::kIngressReady, true, reason::kRoutesPublished,
                  "routes at " + st().url);
  } else {
    set_condition(out, ServiceConditionType::kIngressReady, false, reason::kIngressNotConnected,
                  "no cadre-ingress has its routes yet (is one running?)");
  }
  const auto& pc = st().conditions[0];
  if (!predictor) {
    set_condition(out, ServiceConditionType::kReady, false, pc.reason, pc.message);
  } else if (!ingress_connected_) {
    set_condition(out, ServiceConditionType::kReady, false, reason::kIngressNotConnected,
                  "no cadre-ingress has its routes yet (is one running?)");
  } else {
    set_condition(out, ServiceConditionType::kReady, true, reason::kRevisionReady, st().url);
  }
  st().ready = predictor && ingress_connected_;
  st().latest_ready_revision.clear();
  for (const auto& rev : st().revisions) {
    if (rev.ready_replicas > 0) st().latest_ready_revision = rev.name;
  }
}

void ServiceStateMachine::drop_unused_revisions() {
  auto& revs = st().revisions;
  revs.erase(std::remove_if(revs.begin(), revs.end(),
                            [&](const Revision& rev) {
                              if (rev.name == st().latest_created_revision ||
                                  rev.name == st().latest_rolledout_revision ||
                                  rev.name == st().previous_rolledout_revision) {
                                return false;
                              }
                              for (const auto& r : st().replicas) {
                                if (r.revision == rev.name) return false;
                              }
                              for (const auto& t : st().traffic) {
                                if (t.revision_name == rev.name) return false;
                              }
                              specs_.erase(rev.name);
                              return true;
                            }),
             revs.end());
}

void ServiceStateMachine::reconcile(ServiceEffects& out) {
  if (deleting_) return;
  for (auto& rev : st().revisions) {
    rev.ready_replicas = 0;
    for (const auto& r : st().replicas) {
      if (r.revision == rev.name && r.state == ServiceReplicaState::kReady) rev.ready_replicas++;
    }
    if (rev.ready_replicas > 0 && rev.first_ready_ms == 0) {
      rev.first_ready_ms = now();
      // Its idle window starts now: what was heard before it could serve does not
      // take it to zero the moment it is ready.
      autoscalers_.erase(rev.name);
    }
  }
  route_traffic(out);
  for (auto& rev : st().revisions) scale(out, rev);
  drop_unused_revisions();
  set_conditions(out);
}

// ---- events -------------------------------------------------------------------------

ServiceEffects ServiceStateMachine::create() {
  ServiceEffects out;
  event(
      out, EventType::kNormal, reason::kRevisionCreated,
      "revision " + st().latest_created_revision + " serves " + st().revisions.back().storage_uri);
  reconcile(out);
  persist(out);
  return out;
}

ServiceEffects ServiceStateMachine::restore(
    const std::map<std::string, protocol::JobStatus>& jobs) {
  ServiceEffects out;
  std::vector<std::string> missing;
  for (const auto& r : st().replicas) {
    if (!jobs.count(r.job)) missing.push_back(r.job);
  }
  for (const auto& job : missing) {
    Replica* r = replica(job);
    if (r->state == ServiceReplicaState::kPending && r->uid.empty()) {
      // Stored but never created (the coordinator stopped in between): create it now.
      run_deferred(out, CreateIfWanted{job});
    } else {
      drop_replica(job);
    }
  }
  for (const auto& [job, status] : jobs) {
    auto more = on_job_status(status);
    out.insert(out.end(), more.begin(), more.end());
  }
  for (const auto& r : st().replicas) {
    if (r.state == ServiceReplicaState::kDraining) {
      out.push_back(service_effect::StartTimer{r.job, options_.drain_delay});
    } else if (r.evicted && live(r)) {
      out.push_back(service_effect::StartTimer{r.job, options_.eviction_grace, true});
    }
  }
  reconcile(out);
  persist(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_apply(uint64_t request, const ServiceApply& apply) {
  ServiceEffects out;
  if (deleting_) {
    out.push_back(
        service_effect::AnswerApply{request,
                                    FailedPrecondition("inferenceservice/" + name() +
                                                       " is being deleted; apply it again after"),
                                    ""});
    return out;
  }
  if (apply.manifest == st().manifest) {
    out.push_back(service_effect::AnswerApply{request, Status::Ok(), "unchanged"});
    return out;
  }
  const Revision* latest = revision(st().latest_created_revision);
  const auto& latest_spec = spec_of(latest->name);
  if (apply.spec.revision_key != latest_spec.revision_key ||
      apply.model_path != latest->model_path) {
    add_revision(out, apply);
  }
  st().manifest = apply.manifest;
  st().canary_traffic_percent = apply.spec.canary_traffic_percent;
  st().auth = apply.spec.predictor.auth;
  reconcile(out);
  persist(out, {Answer{request, "configured"}});
  return out;
}

ServiceEffects ServiceStateMachine::on_load(const std::string& source,
                                            const std::string& revision_name, double concurrency,
                                            double rps) {
  ServiceEffects out;
  Revision* rev = revision(revision_name);
  if (rev == nullptr || deleting_) return out;
  const auto& p = spec_of(rev->name).predictor;
  auto& scaler = autoscalers_.try_emplace(rev->name, options_.autoscale).first->second;
  const bool by_rps = p.scale_metric == spec::ScaleMetric::kRps;
  scaler.observe(source, now(), by_rps ? rps : concurrency);
  int32_t running = 0;
  for (const auto& r : st().replicas) {
    if (r.revision == rev->name && live(r)) ++running;
  }
  // Only a revision that has served may go to zero (desired_of starts it at one).
  const int32_t min = scales_to_zero(*rev) ? 0 : std::max(rev->min_replicas, 1);
  const auto d = scaler.decide(now(), running, p.scale_target, min, std::max(rev->max_replicas, 1));
  auto current = autoscaled_.find(rev->name);
  const int32_t before = current != autoscaled_.end() ? current->second : std::max(min, 1);
  if (d.desired == before) return out;
  autoscaled_[rev->name] = d.desired;
  out.push_back(service_effect::Scaled{rev->name, before, d.desired});
  char detail[160];
  std::snprintf(detail, sizeof detail, "%s %.1f over the stable window, %.1f over the panic window",
                by_rps ? "rps" : "concurrency", d.stable_load, d.panic_load);
  event(out, EventType::kNormal, reason::kScaled,
        rev->name + ": " + std::to_string(before) + " -> " + std::to_string(d.desired) +
            " replicas (" + detail + "; target " +
            std::to_string(static_cast<int>(p.scale_target)) + " per replica" +
            (d.panic ? "; panic" : "") + ")");
  reconcile(out);
  persist(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_ingress(bool connected, const std::string& url) {
  ServiceEffects out;
  const std::string want = url.empty() ? "" : url + "/v2/models/" + name();
  if (connected == ingress_connected_ && want == st().url) return out;
  ingress_connected_ = connected;
  if (!want.empty()) st().url = want;
  reconcile(out);
  persist(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_delete(uint64_t request) {
  ServiceEffects out;
  delete_requests_.push_back(request);
  if (deleting_) return out;
  deleting_ = true;
  for (auto& r : st().replicas) {
    if (creating_.count(r.job) || deleting_jobs_.count(r.job)) continue;
    deleting_jobs_.insert(r.job);
    out.push_back(service_effect::DeleteJob{r.job});
  }
  maybe_erase(out);
  return out;
}

void ServiceStateMachine::maybe_erase(ServiceEffects& out) {
  if (!deleting_ || erasing_ || !st().replicas.empty() || !creating_.empty()) return;
  erasing_ = true;
  out.push_back(service_effect::EraseRecord{});
}

ServiceEffects ServiceStateMachine::on_erased(const Status& status) {
  ServiceEffects out;
  erasing_ = false;
  if (status.ok()) {
    // Forgotten by the manager before the client hears (as a job is).
    out.push_back(service_effect::Stop{});
  } else {
    // Still there: the next delete tries again.
    deleting_ = false;
    reconcile(out);
    persist(out);
  }
  out.push_back(service_effect::AnswerDelete{delete_requests_, status});
  delete_requests_.clear();
  return out;
}

protocol::InferenceServiceStatus ServiceStateMachine::summary() const {
  auto s = st();
  s.manifest.clear();
  for (auto& rev : s.revisions) rev.manifest.clear();
  return s;
}

protocol::ServiceRoute ServiceStateMachine::route() const {
  protocol::ServiceRoute route;
  route.name = name();
  route.ns = st().ns;
  route.auth = st().auth;
  route.replica_token = rec_.token;
  const auto& latest = specs_.at(st().latest_created_revision).predictor;
  route.timeout_ms = latest.timeout_seconds * 1000;
  route.container_concurrency = latest.container_concurrency;
  for (const auto& t : st().traffic) {
    protocol::RevisionRoute rev;
    rev.revision = t.revision_name;
    rev.percent = t.percent;
    const Revision* status = revision(t.revision_name);
    rev.activate = status != nullptr && scales_to_zero(*status);
    for (const auto& r : st().replicas) {
      if (r.revision == t.revision_name && r.state == ServiceReplicaState::kReady) {
        rev.endpoints.push_back({r.job, r.address, r.port});
      }
    }
    route.revisions.push_back(std::move(rev));
  }
  return route;
}

}  // namespace cadre::actors

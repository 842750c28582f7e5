#include "actors/service_state_machine.h"

#include <algorithm>
#include <cstdio>

#include "actors/service_replica_job.h"
#include "protocol/spec/manifest.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::EventType;
using protocol::ServiceReplicaState;
namespace reason = protocol::reason;

}  // namespace

std::string revision_name(const std::string& service, int64_t generation) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%05lld", static_cast<long long>(generation));
  return service + "-" + digits;
}

protocol::RevisionStatus ServiceStateMachine::new_revision(const ServiceApply& apply,
                                                           const std::string& service,
                                                           int64_t generation, int64_t now_ms) {
  protocol::RevisionStatus rev;
  rev.generation = generation;
  rev.name = revision_name(service, generation);
  rev.manifest = apply.manifest;
  rev.model_format = spec::model_format_name(apply.spec.predictor.model_format);
  rev.storage_uri = apply.spec.predictor.storage_uri;
  rev.model_path = apply.model_path;
  rev.min_replicas = apply.spec.predictor.min_replicas;
  rev.max_replicas = apply.spec.predictor.max_replicas;
  rev.created_ms = now_ms;
  return rev;
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
  protocol::RevisionStatus rev = new_revision(apply, s.name, 1, now_ms);
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

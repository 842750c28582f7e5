#include "actors/service_state_machine.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

#include "protocol/spec/manifest.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace {

namespace fx = service_effect;
using protocol::ConditionStatus;
using protocol::EventType;
using protocol::JobPhase;
using protocol::ServiceConditionType;
using protocol::ServiceReplicaState;
namespace reason = protocol::reason;

// Stages the model in the replica's folder as a one-model repository named after
// the service, then becomes cadre-serve on the port the coordinator reserved
// (CADRE_PEERS is this replica's "address:port"), asking the service's token.
// $1 model name, $2 model file or folder, $3 config.pbtxt for a file ("" : none),
// $4 the file's name in its version folder.
constexpr const char* kReplicaScript = R"(set -eu
if [ -z "${CADRE_PEERS:-}" ]; then
  echo "cadre: this replica has no port: start the node's agent with --port-range" >&2; exit 64
fi
repo="$PWD/repository"
rm -rf "$repo"; mkdir -p "$repo"
if [ -d "$2" ]; then
  ln -s "$2" "$repo/$1"
elif [ -f "$2" ]; then
  mkdir -p "$repo/$1/1"; ln -s "$2" "$repo/$1/1/$4"
  if [ -n "$3" ]; then printf '%s\n' "$3" > "$repo/$1/config.pbtxt"; fi
else
  echo "cadre: the model $2 is not on this node" >&2; exit 65
fi
exec cadre-serve --model-repository "$repo" --host "${CADRE_PEERS%:*}" \
  --http-port "${CADRE_PEERS##*:}" --grpc-port -1 --metrics-port -1 \
  --auth-token-env CADRE_JOB_TOKEN --log-level warn
)";

constexpr const char* kReadinessPath = "/v2/health/ready";

// config.pbtxt for a model file with batching settings; "" keeps cadre-serve's
// auto-completed config (max_batch_size 64, dynamic batching without delay).
std::string batching_config(const spec::PredictorSpec& p) {
  const auto& b = p.batching;
  if (b.empty()) return "";
  std::string out =
      "backend: \"cadre\"\nmax_batch_size: " + std::to_string(b.max_batch_size.value_or(64)) +
      "\ndynamic_batching {\n";
  for (int32_t size : b.preferred_batch_size) {
    out += "  preferred_batch_size: " + std::to_string(size) + "\n";
  }
  if (b.max_queue_delay_microseconds) {
    out +=
        "  max_queue_delay_microseconds: " + std::to_string(*b.max_queue_delay_microseconds) + "\n";
  }
  if (b.preserve_ordering) {
    out += std::string("  preserve_ordering: ") + (*b.preserve_ordering ? "true" : "false") + "\n";
  }
  if (b.max_queue_size || b.default_timeout_microseconds) {
    out += "  default_queue_policy {\n";
    if (b.max_queue_size) out += "    max_queue_size: " + std::to_string(*b.max_queue_size) + "\n";
    if (b.default_timeout_microseconds) {
      out +=
          "    default_timeout_microseconds: " + std::to_string(*b.default_timeout_microseconds) +
          "\n";
    }
    out += "  }\n";
  }
  return out + "}";
}

}  // namespace

std::string revision_name(const std::string& service, int64_t generation) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%05lld", static_cast<long long>(generation));
  return service + "-" + digits;
}

std::string render_replica_job(const protocol::InferenceServiceStatus& service,
                               const spec::InferenceServiceSpec& spec,
                               const protocol::RevisionStatus& rev, const std::string& job) {
  const auto& p = spec.predictor;
  const bool pytorch = p.model_format == spec::ModelFormat::kPytorch;
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << spec::kApiVersion;
  y << YAML::Key << "kind" << YAML::Value << "Job";
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << job;
  y << YAML::Key << "namespace" << YAML::Value << service.ns;
  y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "inferenceservice" << YAML::Value << service.name;
  y << YAML::Key << "revision" << YAML::Value << rev.name << YAML::EndMap;
  y << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "command" << YAML::Value << YAML::BeginSeq << "sh"
    << "-c" << kReplicaScript << "cadre-serve-replica" << service.name << rev.model_path
    << batching_config(p) << (pytorch ? "model.pt" : "model.cadre") << YAML::EndSeq;
  const auto& r = p.resources;
  if (r.cpu_millis > 0 || r.memory_bytes > 0 || r.gpus > 0) {
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
    if (r.cpu_millis > 0)
      y << YAML::Key << "cpu" << YAML::Value << std::to_string(r.cpu_millis) + "m";
    if (r.memory_bytes > 0) {
      y << YAML::Key << "memory" << YAML::Value << std::to_string(r.memory_bytes);
    }
    if (r.gpus > 0) y << YAML::Key << "gpu" << YAML::Value << r.gpus;
    y << YAML::EndMap;
  }
  // cadre-serve finishes the requests it holds on SIGTERM before it exits.
  y << YAML::Key << "terminationGracePeriodSeconds" << YAML::Value
    << std::min<int64_t>(p.timeout_seconds + 5, 3600);
  y << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return y.c_str();
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
  out.push_back(fx::RecordEvent{protocol::JobEvent{now(), type, why, message}});
}

void ServiceStateMachine::persist(ServiceEffects& out, std::vector<Deferred> then) {
  // Once a delete has begun nothing is written: a write landing after the erase
  // would bring the service back.
  if (deleting_) return;
  then.emplace_back(std::in_place_type<Publish>);
  out.push_back(fx::Persist{writes_.write(std::move(then))});
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
  if (failure.retry_in) out.push_back(fx::StartTimer{"", *failure.retry_in});
  return out;
}

void ServiceStateMachine::run_deferred(ServiceEffects& out, const Deferred& d) {
  if (std::holds_alternative<Publish>(d)) {
    out.push_back(fx::PublishSummary{});
    return;
  }
  if (const auto* a = std::get_if<Answer>(&d)) {
    out.push_back(fx::AnswerApply{a->request, Status::Ok(), a->action});
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
  out.push_back(fx::CreateJob{job, render_replica_job(st(), spec_of(rev->name), *rev, job)});
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

// The shares each revision should have (KServe's rules), then the shares it can
// have: a revision without a ready replica hands its share to the ready revision
// that holds the most traffic now, so requests never go where nothing answers.
void ServiceStateMachine::route_traffic(ServiceEffects& out) {
  auto& s = st();
  const std::string& latest = s.latest_created_revision;
  auto ready = [&](const std::string& rev_name) {
    const Revision* rev = revision(rev_name);
    return rev != nullptr && servable(*rev);
  };
  const auto canary = s.canary_traffic_percent;
  const bool promote = !canary || *canary == 100;
  if (promote && ready(latest) && s.latest_rolledout_revision != latest) {
    if (!s.latest_rolledout_revision.empty()) {
      s.previous_rolledout_revision = s.latest_rolledout_revision;
    }
    s.latest_rolledout_revision = latest;
    event(out, EventType::kNormal, reason::kRolledOut, "revision " + latest + " takes all traffic");
  }
  const std::string& rolled = s.latest_rolledout_revision;
  std::vector<std::pair<std::string, int32_t>> wanted;
  if (rolled.empty() || (rolled == latest && promote)) {
    wanted = {{latest, 100}};
  } else if (rolled == latest) {
    // canaryTrafficPercent 0 or P after a promotion: back to the previous revision.
    if (s.previous_rolledout_revision.empty()) {
      wanted = {{latest, 100}};
    } else {
      wanted = {{s.previous_rolledout_revision, 100 - *canary}, {latest, *canary}};
    }
  } else {
    const int32_t share = promote ? 100 : *canary;
    wanted = {{rolled, 100 - share}, {latest, share}};
  }
  // The revision that takes a share that cannot be served yet.
  std::string fallback;
  int32_t fallback_share = -1;
  for (const auto& t : s.traffic) {
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
    traffic.push_back({rev_name, percent, rev_name == latest});
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
  out.push_back(fx::StartTimer{r.job, options_.drain_delay});
}

void ServiceStateMachine::scale(ServiceEffects& out, Revision& rev) {
  rev.desired_replicas = desired_of(rev);
  std::vector<Replica*> running;
  for (auto& r : st().replicas) {
    if (r.revision == rev.name && live(r)) running.push_back(&r);
  }
  rev.ready_replicas =
      static_cast<int32_t>(std::count_if(running.begin(), running.end(), [](const Replica* r) {
        return r->state == ServiceReplicaState::kReady;
      }));
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
    set_condition(out, ServiceConditionType::kPredictorReady, false, reason::kNoReadyReplicas,
                  "waiting for a ready replica of " + unready);
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
      out.push_back(fx::StartTimer{r.job, options_.drain_delay});
    }
  }
  reconcile(out);
  persist(out);
  return out;
}

ServiceEffects ServiceStateMachine::on_apply(uint64_t request, const ServiceApply& apply) {
  ServiceEffects out;
  if (deleting_) {
    out.push_back(fx::AnswerApply{request,
                                  FailedPrecondition("inferenceservice/" + name() +
                                                     " is being deleted; apply it again after"),
                                  ""});
    return out;
  }
  if (apply.manifest == st().manifest) {
    out.push_back(fx::AnswerApply{request, Status::Ok(), "unchanged"});
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

ServiceEffects ServiceStateMachine::on_job_created(const std::string& job, const Status& status) {
  ServiceEffects out;
  creating_.erase(job);
  Replica* r = replica(job);
  if (r == nullptr) return out;
  if (deleting_) {
    if (status.ok()) {
      deleting_jobs_.insert(job);
      out.push_back(fx::DeleteJob{job});
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
  out.push_back(fx::StartTimer{"", std::min(delay, options_.failure_backoff_max)});
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
        out.push_back(fx::DeleteJob{job.name});
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
    out.push_back(fx::DeleteJob{job.name});
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
      r->message.clear();
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
    out.push_back(fx::StartTimer{job, options_.failure_backoff});
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

ServiceEffects ServiceStateMachine::on_timer(const std::string& job) {
  ServiceEffects out;
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
    out.push_back(fx::DeleteJob{job});
  }
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
  out.push_back(fx::Scaled{rev->name, before, d.desired});
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
    out.push_back(fx::DeleteJob{r.job});
  }
  maybe_erase(out);
  return out;
}

void ServiceStateMachine::maybe_erase(ServiceEffects& out) {
  if (!deleting_ || erasing_ || !st().replicas.empty() || !creating_.empty()) return;
  erasing_ = true;
  out.push_back(fx::EraseRecord{});
}

ServiceEffects ServiceStateMachine::on_erased(const Status& status) {
  ServiceEffects out;
  erasing_ = false;
  out.push_back(fx::AnswerDelete{delete_requests_, status});
  delete_requests_.clear();
  if (status.ok()) {
    out.push_back(fx::Stop{});
  } else {
    // Still there: the next delete tries again.
    deleting_ = false;
    reconcile(out);
    persist(out);
  }
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

#include "protocol/spec/train_job_spec.h"

#include <cctype>
#include <cstddef>
#include <limits>
#include <map>

#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {
namespace {

// Every replica's CADRE_PEERS and TF_CONFIG list all of its peers, so a gang's size
// bounds each replica's environment; 1024 is far beyond any gang we place.
constexpr int64_t kMaxReplicas = 1024;
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// One table per enum: the YAML spelling (case-sensitive, as Kubeflow's) both ways.
template <typename E>
struct EnumName {
  const char* name;
  E value;
};

constexpr EnumName<RestartPolicy> kRestartPolicies[] = {
    {"Never", RestartPolicy::kNever},
    {"OnFailure", RestartPolicy::kOnFailure},
    {"Always", RestartPolicy::kAlways},
    {"ExitCode", RestartPolicy::kExitCode},
};
constexpr EnumName<CleanPodPolicy> kCleanPodPolicies[] = {
    {"All", CleanPodPolicy::kAll},
    {"Running", CleanPodPolicy::kRunning},
    {"None", CleanPodPolicy::kNone},
};
constexpr EnumName<PlacementPolicy> kPlacementPolicies[] = {
    {"Pack", PlacementPolicy::kPack},
    {"Spread", PlacementPolicy::kSpread},
};
constexpr EnumName<PreemptionPolicy> kPreemptionPolicies[] = {
    {"PreemptLowerPriority", PreemptionPolicy::kPreemptLowerPriority},
    {"Never", PreemptionPolicy::kNever},
};

template <typename E, size_t N>
const char* name_of(const EnumName<E> (&names)[N], E value) {
  for (const auto& entry : names) {
    if (entry.value == value) return entry.name;
  }
  return "Unknown";
}

// Reads an optional enum field into *out; absent or null keeps the default there.
template <typename E, size_t N>
Status read_enum(YamlReader& reader, const std::string& key, const EnumName<E> (&names)[N],
                 E* out) {
  ASSIGN_OR_RETURN(auto text, reader.string(key));
  if (!text) return Status::Ok();
  std::string allowed;
  for (const auto& entry : names) {
    if (*text == entry.name) {
      *out = entry.value;
      return Status::Ok();
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string(entry.name);
  }
  return field_error(reader.child_path(key), quote_value(*text) + " is not one of " + allowed);
}

// YamlReader::integer, with the offending value in the error: "must be >= 1, got 0".
Result<std::optional<int64_t>> read_integer(YamlReader& reader, const std::string& key, int64_t min,
                                            int64_t max) {
  ASSIGN_OR_RETURN(auto value, reader.integer(key, std::numeric_limits<int64_t>::min(),
                                              std::numeric_limits<int64_t>::max()));
  if (value && *value < min) {
    return field_error(reader.child_path(key),
                       "must be >= " + std::to_string(min) + ", got " + std::to_string(*value));
  }
  if (value && *value > max) {
    return field_error(reader.child_path(key),
                       "must be <= " + std::to_string(max) + ", got " + std::to_string(*value));
  }
  return value;
}

// The types a TrainJob may name: replica_types() without a Job's "Main".
bool is_train_job_type(const std::string& type) {
  for (const auto& known : replica_types()) {
    if (known == type) return type != "Main";
  }
  return false;
}

std::string allowed_types() {
  std::string out;
  for (const auto& type : replica_types()) {
    if (type != "Main") out += (out.empty() ? "" : ", ") + type;
  }
  return out;
}

std::string unknown_type_message(const std::string& type) {
  std::string message = "unknown replica type (allowed: " + allowed_types() + ")";
  if (type == "Main") return message + "; Main is the replica of a kind: Job";
  for (const auto& known : replica_types()) {
    if (known.size() != type.size() || known == "Main") continue;
    bool same = true;
    for (size_t i = 0; i < type.size(); ++i) {
      same = same && std::tolower(static_cast<unsigned char>(type[i])) ==
                         std::tolower(static_cast<unsigned char>(known[i]));
    }
    if (same) return message + "; types are case-sensitive, did you mean " + known + "?";
  }
  return message;
}

// Chief, Master and Launcher are roles a job has one of: the replica that decides
// success (Chief/Master) or runs mpirun (Launcher).
bool is_singleton(const std::string& type) {
  return type == "Chief" || type == "Master" || type == "Launcher";
}

Result<ReplicaSpec> parse_replica_spec(const YAML::Node& node, const std::string& type,
                                       const std::string& path) {
  ASSIGN_OR_RETURN(YamlReader reader, YamlReader::Map(node, path));
  RETURN_IF_ERROR(reader.only({"replicas", "restartPolicy", "template"}));
  ReplicaSpec out;
  out.type = type;
  ASSIGN_OR_RETURN(auto replicas, read_integer(reader, "replicas", 1, kMaxReplicas));
  if (replicas) out.replicas = static_cast<int32_t>(*replicas);
  if (is_singleton(type) && out.replicas != 1) {
    return field_error(reader.child_path("replicas"), "must be 1 (a job has one " + type +
                                                          "), got " + std::to_string(out.replicas));
  }
  RETURN_IF_ERROR(read_enum(reader, "restartPolicy", kRestartPolicies, &out.restart_policy));
  ASSIGN_OR_RETURN(auto tmpl, reader.map("template"));
  if (!tmpl) return field_error(reader.child_path("template"), "required");
  ASSIGN_OR_RETURN(out.tmpl, parse_replica_template(*tmpl));
  RETURN_IF_ERROR(reader.reject_unknown());
  return out;
}

// Rules between types, checked once every type has parsed on its own.
Status check_roles(const std::map<std::string, ReplicaSpec>& by_type, const std::string& path) {
  const auto has = [&](const char* type) { return by_type.count(type) > 0; };
  if (has("Chief") && has("Master")) {
    return field_error(path,
                       "Chief and Master are the same role (TFJob's and PyTorchJob's name for "
                       "it); give one of them");
  }
  if (has("Launcher") && !has("Worker")) {
    return field_error(path + ".Launcher", "needs Worker replicas for mpirun to launch on");
  }
  if (!has("Chief") && !has("Master") && !has("Worker") && !has("Launcher")) {
    return field_error(path,
                       "needs a Chief, Master, Worker or Launcher: PS and Evaluator replicas "
                       "alone cannot decide when the job succeeds");
  }
  int64_t total = 0;
  for (const auto& [type, spec] : by_type) total += spec.replicas;
  if (total > kMaxReplicas) {
    return field_error(path, "at most " + std::to_string(kMaxReplicas) +
                                 " replicas over all types, got " + std::to_string(total));
  }
  return Status::Ok();
}

// spec.replicaSpecs: a map keyed by type, returned in replica_types() order.
Result<std::vector<ReplicaSpec>> parse_replica_specs(YamlReader& spec) {
  const std::string path = spec.child_path("replicaSpecs");
  const YAML::Node node = spec.node("replicaSpecs");
  if (!node.IsDefined() || node.IsNull()) return field_error(path, "required");
  if (!node.IsMap()) {
    return field_error(path, "must be a map keyed by replica type (" + allowed_types() + ")");
  }
  if (node.size() == 0) {
    return field_error(path, "must name at least one replica type (" + allowed_types() + ")");
  }
  std::map<std::string, ReplicaSpec> by_type;
  for (const auto& entry : node) {
    const std::string type = entry.first.Scalar();
    const std::string type_path = path + "." + type;
    if (!is_train_job_type(type)) return field_error(type_path, unknown_type_message(type));
    ASSIGN_OR_RETURN(ReplicaSpec parsed, parse_replica_spec(entry.second, type, type_path));
    by_type.emplace(type, std::move(parsed));
  }
  RETURN_IF_ERROR(check_roles(by_type, path));
  std::vector<ReplicaSpec> out;
  for (const auto& type : replica_types()) {
    auto it = by_type.find(type);
    if (it != by_type.end()) out.push_back(std::move(it->second));
  }
  return out;
}

// spec.runPolicy; `total` is the gang's replica count (minAvailable must match it).
Result<RunPolicy> parse_run_policy(YamlReader& spec, int32_t total) {
  RunPolicy out;
  ASSIGN_OR_RETURN(auto reader, spec.map("runPolicy"));
  if (!reader) return out;
  RETURN_IF_ERROR(reader->only({"backoffLimit", "activeDeadlineSeconds", "cleanPodPolicy",
                                "ttlSecondsAfterFinished", "schedulingPolicy", "suspend"}));
  ASSIGN_OR_RETURN(auto backoff, read_integer(*reader, "backoffLimit", 0, kInt32Max));
  if (backoff) out.backoff_limit = static_cast<int32_t>(*backoff);
  ASSIGN_OR_RETURN(out.active_deadline_seconds,
                   read_integer(*reader, "activeDeadlineSeconds", 1, kMaxSeconds));
  RETURN_IF_ERROR(read_enum(*reader, "cleanPodPolicy", kCleanPodPolicies, &out.clean_pod_policy));
  ASSIGN_OR_RETURN(out.ttl_seconds_after_finished,
                   read_integer(*reader, "ttlSecondsAfterFinished", 0, kMaxSeconds));
  ASSIGN_OR_RETURN(out.scheduling, parse_scheduling_policy(*reader, total));
  ASSIGN_OR_RETURN(auto suspend, reader->boolean("suspend"));
  out.suspend = suspend.value_or(false);
  RETURN_IF_ERROR(reader->reject_unknown());
  return out;
}

// spec.successPolicy: Kubeflow's "" (default) or "AllWorkers".
Result<SuccessPolicy> parse_success_policy(YamlReader& spec, const TrainJobSpec& job) {
  const std::string path = spec.child_path("successPolicy");
  ASSIGN_OR_RETURN(auto text, spec.string("successPolicy"));
  if (!text || text->empty()) return SuccessPolicy::kDefault;
  if (*text != "AllWorkers") {
    return field_error(path,
                       quote_value(*text) + " is not one of AllWorkers, or empty for the default");
  }
  if (job.find("Worker") == nullptr) return field_error(path, "AllWorkers needs Worker replicas");
  return SuccessPolicy::kAllWorkers;
}

}  // namespace

Result<SchedulingPolicy> parse_scheduling_policy(YamlReader& run, int32_t total) {
  SchedulingPolicy out;
  ASSIGN_OR_RETURN(auto reader, run.map("schedulingPolicy"));
  if (!reader) return out;
  RETURN_IF_ERROR(
      reader->only({"minAvailable", "priority", "queue", "placement", "preemptionPolicy"}));
  ASSIGN_OR_RETURN(auto min_available, read_integer(*reader, "minAvailable", 1, total));
  if (min_available && *min_available < total) {
    // Kubeflow (with Volcano) may start part of a gang; Cadre cannot, because each
    // replica is told all of its peers before any of them starts.
    return field_error(reader->child_path("minAvailable"),
                       "must equal the total replica count " + std::to_string(total) + ", got " +
                           std::to_string(*min_available) +
                           ": Cadre admits a gang whole, because every replica's CADRE_PEERS "
                           "and TF_CONFIG name all of its peers (omit it for the default)");
  }
  if (min_available) out.min_available = static_cast<int32_t>(*min_available);
  ASSIGN_OR_RETURN(auto priority, read_integer(*reader, "priority", kInt32Min, kInt32Max));
  if (priority) out.priority = static_cast<int32_t>(*priority);
  ASSIGN_OR_RETURN(auto queue, reader->string("queue"));
  if (queue) {
    if (!is_dns_label(*queue)) {
      return field_error(reader->child_path("queue"), quote_value(*queue) + " must be a DNS label");
    }
    out.queue = *queue;
  }
  RETURN_IF_ERROR(read_enum(*reader, "placement", kPlacementPolicies, &out.placement));
  RETURN_IF_ERROR(read_enum(*reader, "preemptionPolicy", kPreemptionPolicies, &out.preemption));
  RETURN_IF_ERROR(reader->reject_unknown());
  return out;
}

Result<TrainJobSpec> parse_train_job(YamlReader& top, ObjectMeta metadata) {
  TrainJobSpec job;
  job.metadata = std::move(metadata);
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"replicaSpecs", "runPolicy", "successPolicy"}));
  ASSIGN_OR_RETURN(job.replica_specs, parse_replica_specs(*spec));
  ASSIGN_OR_RETURN(job.run_policy, parse_run_policy(*spec, job.total_replicas()));
  ASSIGN_OR_RETURN(job.success_policy, parse_success_policy(*spec, job));
  RETURN_IF_ERROR(spec->reject_unknown());
  return job;
}

int32_t TrainJobSpec::total_replicas() const {
  int32_t total = 0;
  for (const auto& spec : replica_specs) total += spec.replicas;
  return total;
}

const ReplicaSpec* TrainJobSpec::find(const std::string& type) const {
  for (const auto& spec : replica_specs) {
    if (spec.type == type) return &spec;
  }
  return nullptr;
}

TrainJobSpec to_train_job(const JobSpec& job) {
  TrainJobSpec out;
  out.metadata = job.metadata;
  ReplicaSpec main;
  main.type = "Main";
  main.replicas = 1;
  main.restart_policy = RestartPolicy::kNever;
  main.tmpl = job.replica;
  out.replica_specs.push_back(std::move(main));
  out.run_policy.backoff_limit = 0;
  out.run_policy.active_deadline_seconds = job.active_deadline_seconds;
  out.run_policy.clean_pod_policy = CleanPodPolicy::kRunning;
  out.run_policy.suspend = job.suspend;
  out.run_policy.scheduling = job.scheduling;
  return out;
}

const char* to_string(RestartPolicy policy) { return name_of(kRestartPolicies, policy); }
const char* to_string(CleanPodPolicy policy) { return name_of(kCleanPodPolicies, policy); }
const char* to_string(PlacementPolicy policy) { return name_of(kPlacementPolicies, policy); }
const char* to_string(PreemptionPolicy policy) { return name_of(kPreemptionPolicies, policy); }

}  // namespace cadre::spec

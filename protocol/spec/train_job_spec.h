// The `TrainJob` kind: a gang of typed replicas, shaped like Kubeflow's TFJob,
// PyTorchJob and MPIJob. A `Job` is supervised as a TrainJob of one `Main`
// replica that is never restarted (to_train_job). docs/specs.md documents every field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/spec/job_spec.h"

namespace cadre::spec {

// What happens when a replica's process exits (Kubeflow's restartPolicy).
enum class RestartPolicy {
  kNever,      // any failure fails the job
  kOnFailure,  // restart after a non-zero exit or a lost node
  kAlways,     // restart after any exit, success included (e.g. parameter servers)
  kExitCode,   // restart after exit codes 128-255 and lost nodes; 1-127 fail the job
};

// Which replicas are killed when the job finishes (Kubeflow's cleanPodPolicy).
enum class CleanPodPolicy {
  kAll,      // every replica still running
  kRunning,  // same for Cadre (logs are files and stay readable either way)
  kNone,     // leave them running until they exit or the job is deleted
};

enum class SuccessPolicy {
  kDefault,     // Chief/Master (else Launcher, else Worker 0) exiting 0 decides
  kAllWorkers,  // every Worker (and the Chief/Master, if any) must exit 0
};

// Canonical type order. Ranks (CADRE_RANK) follow it: PS first (as cadre-train's
// CADRE_PEERS fallback expects), then Chief/Master, Workers, Evaluator, Launcher.
inline const std::vector<std::string>& replica_types() {
  static const std::vector<std::string> types = {"PS",        "Chief",    "Master", "Worker",
                                                 "Evaluator", "Launcher", "Main"};
  return types;
}

struct ReplicaSpec {
  std::string type;      // one of replica_types(); "Main" only for a Job
  int32_t replicas = 1;  // >= 1; Chief, Master and Launcher: exactly 1
  RestartPolicy restart_policy = RestartPolicy::kNever;
  ReplicaTemplate tmpl;  // spec.replicaSpecs.<Type>.template
};

struct RunPolicy {
  int32_t backoff_limit = 6;  // restarts before Failed/BackoffLimitExceeded
  // From creation, or from the last resume; then Failed/DeadlineExceeded.
  std::optional<int64_t> active_deadline_seconds;
  CleanPodPolicy clean_pod_policy = CleanPodPolicy::kRunning;
  std::optional<int64_t> ttl_seconds_after_finished;  // then the job is deleted
  SchedulingPolicy scheduling;
  // Created Suspended: nothing is placed until cadre resume (Kubeflow's
  // runPolicy.suspend; a Job's spec.suspend).
  bool suspend = false;
};

struct TrainJobSpec {
  ObjectMeta metadata;
  std::vector<ReplicaSpec> replica_specs;  // in replica_types() order, each type at most once
  RunPolicy run_policy;
  SuccessPolicy success_policy = SuccessPolicy::kDefault;

  int32_t total_replicas() const;
  const ReplicaSpec* find(const std::string& type) const;  // nullptr if absent
};

// A Job as the supervisor runs it: one Main replica, restartPolicy Never, backoffLimit 0.
TrainJobSpec to_train_job(const JobSpec& job);

const char* to_string(RestartPolicy policy);
const char* to_string(CleanPodPolicy policy);
const char* to_string(PlacementPolicy policy);
const char* to_string(PreemptionPolicy policy);

}  // namespace cadre::spec

// The `Job` kind: one replica running a command (a Kubernetes Job, flattened).
// docs/specs.md documents every field; manifest.h parses it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::spec {

inline constexpr const char* kApiVersion = "cadre/v1";

struct ObjectMeta {
  std::string name;                           // DNS label, unique per kind
  std::string ns = "default";                 // namespace (CADRE_NAMESPACE)
  std::map<std::string, std::string> labels;  // free-form
};

struct ResourceRequest {
  int64_t cpu_millis = 0;    // 0: best effort, placed anywhere
  int64_t memory_bytes = 0;  // 0: best effort
  int32_t gpus = 0;          // whole devices
};

struct EnvVar {
  std::string name;
  std::string value;
};

struct ReplicaTemplate {
  std::vector<std::string> command;  // argv prefix; required
  std::vector<std::string> args;     // appended to command
  std::vector<EnvVar> env;           // in declaration order
  std::string working_dir;           // empty: the replica's own folder on the node
  ResourceRequest resources;
  std::optional<int64_t> termination_grace_seconds;  // SIGTERM-to-SIGKILL; default per cluster
  // nodeSelector, as a pod's: only nodes whose labels (cadre-agent --label) hold
  // every pair take this replica.
  std::map<std::string, std::string> node_selector;
};

enum class PlacementPolicy {
  kPack,    // fill nodes in name order: fewest nodes, least traffic between hosts
  kSpread,  // one replica per node where possible, least loaded first: failure isolation
};

// Whether a gang that waits may stop lower-priority gangs to fit (a Kubernetes
// PriorityClass's preemptionPolicy).
enum class PreemptionPolicy {
  kPreemptLowerPriority,  // stop batch gangs of strictly lower priority, fewest first
  kNever,                 // wait in the queue like any other gang
};

struct SchedulingPolicy {
  // Replicas that must be placeable together before any starts. Cadre admits a gang
  // whole, so only the total replica count (the default) is accepted.
  std::optional<int32_t> min_available;
  int32_t priority = 0;           // higher is placed first; FIFO within a priority
  std::string queue = "default";  // a label for grouping (DNS label)
  PlacementPolicy placement = PlacementPolicy::kPack;
  PreemptionPolicy preemption = PreemptionPolicy::kPreemptLowerPriority;
};

struct JobSpec {
  ObjectMeta metadata;
  ReplicaTemplate replica;                         // spec.template
  std::optional<int64_t> active_deadline_seconds;  // from creation; then Failed/DeadlineExceeded
  bool suspend = false;  // spec.suspend: created Suspended, started by cadre resume
  // spec.schedulingPolicy: priority, queue and preemptionPolicy, as a TrainJob's
  // runPolicy.schedulingPolicy (Kueue's queue-name label and a PriorityClass).
  SchedulingPolicy scheduling;
};

}  // namespace cadre::spec

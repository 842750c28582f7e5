// The states Cadre's status messages carry, as enums (protocol/string_enum.h): on
// the wire, in the store and in `-o json` they read as their names, exactly as the
// strings they replace. Reasons stay open strings (agents report their own, and
// users read them), but every reason Cadre itself sets is a constant here.
#pragma once

#include <string_view>
#include <utility>

#include "protocol/string_enum.h"

namespace cadre::protocol {

// A job's phase (JobStatus.phase).
// kSuspended: stopped by a user (cadre suspend, runPolicy.suspend) and holding no
// node until resumed; not terminal.
enum class JobPhase { kQueued, kRunning, kRestarting, kSucceeded, kFailed, kSuspended };
// One replica's current instance (ReplicaStatus.state).
// kStopped: stopped by Cadre because its job had ended (cleanPodPolicy) or was
// being deleted; neither its success nor its failure (Kubeflow counts such a
// replica in none of active, succeeded, failed).
enum class ReplicaState {
  kPending,
  kStarting,
  kRunning,
  kTerminating,
  kSucceeded,
  kFailed,
  kStopped
};
// A node's health as the registry sees it (NodeStatus.state).
enum class NodeState { kReady, kNotReady, kLost };
// Kubeflow-style condition types (JobCondition.type): the phases plus Created.
enum class ConditionType {
  kCreated,
  kQueued,
  kRunning,
  kRestarting,
  kSucceeded,
  kFailed,
  kSuspended
};
// JobCondition.status, as Kubernetes spells it.
enum class ConditionStatus { kFalse, kTrue };
// JobEvent.type, as Kubernetes events have it.
enum class EventType { kNormal, kWarning };
// An experiment's phase (ExperimentStatus.phase), as Katib's conditions name them.
enum class ExperimentPhase { kCreated, kRunning, kSucceeded, kFailed };
// One trial (TrialStatus.phase), as Katib's trial conditions name them.
enum class TrialPhase {
  kRunning,             // its job is queued or running (a promoted trial runs again)
  kSucceeded,           // its job succeeded and reported the objective
  kFailed,              // its job failed, or its objective was NaN or infinite
  kEarlyStopped,        // stopped by the early-stopping rule; keeps its metrics
  kMetricsUnavailable,  // its job succeeded without ever reporting the objective
  kKilled,              // stopped because the experiment ended or was deleted
};
// One serving replica of an InferenceService (ServiceReplica.state).
enum class ServiceReplicaState {
  kPending,   // its job is created, not yet running
  kStarting,  // running, its model not yet ready
  kReady,     // answering /v2/health/ready: in the ingress's routes
  kDraining,  // out of the routes; stopped once in-flight requests had time to finish
  kFailed,    // its job ended; a replacement is made
};
// KServe's InferenceService conditions (ServiceCondition.type).
enum class ServiceConditionType { kPredictorReady, kIngressReady, kReady };
// A pipeline run and each of its tasks, as KFP's runtime states name them.
enum class PipelineState { kPending, kRunning, kSucceeded, kFailed, kCanceled, kSkipped };
// What a task of a run is (PipelineTaskStatus.kind).
enum class PipelineTaskKind {
  kContainer,  // a step: runs its executor (a command, or a Cadre workload) as a job
  kDag,        // a sub-DAG (conditions and exit handlers compile to them)
  kLoop,       // a ParallelFor: one iteration DAG per item
  kIteration,  // one item of a loop
};

// A Notebook (NotebookStatus.phase).
enum class NotebookPhase {
  kPending,   // its server's job is queued or starting, or waits to restart
  kRunning,   // its Jupyter server answers
  kStopping,  // stopped (by a user or the culler): its job is being stopped
  kStopped,   // no server runs; its workspace is kept
};

template <>
struct EnumNames<JobPhase> {
  static constexpr std::pair<JobPhase, std::string_view> kTable[] = {
      {JobPhase::kQueued, "Queued"},         {JobPhase::kRunning, "Running"},
      {JobPhase::kRestarting, "Restarting"}, {JobPhase::kSucceeded, "Succeeded"},
      {JobPhase::kFailed, "Failed"},         {JobPhase::kSuspended, "Suspended"},
  };
};

template <>
struct EnumNames<ReplicaState> {
  static constexpr std::pair<ReplicaState, std::string_view> kTable[] = {
      {ReplicaState::kPending, "Pending"},     {ReplicaState::kStarting, "Starting"},
      {ReplicaState::kRunning, "Running"},     {ReplicaState::kTerminating, "Terminating"},
      {ReplicaState::kSucceeded, "Succeeded"}, {ReplicaState::kFailed, "Failed"},
      {ReplicaState::kStopped, "Stopped"},
  };
};

template <>
struct EnumNames<NodeState> {
  static constexpr std::pair<NodeState, std::string_view> kTable[] = {
      {NodeState::kReady, "Ready"},
      {NodeState::kNotReady, "NotReady"},
      {NodeState::kLost, "Lost"},
  };
};

template <>
struct EnumNames<ConditionType> {
  static constexpr std::pair<ConditionType, std::string_view> kTable[] = {
      {ConditionType::kCreated, "Created"},     {ConditionType::kQueued, "Queued"},
      {ConditionType::kRunning, "Running"},     {ConditionType::kRestarting, "Restarting"},
      {ConditionType::kSucceeded, "Succeeded"}, {ConditionType::kFailed, "Failed"},
      {ConditionType::kSuspended, "Suspended"},
  };
};

template <>
struct EnumNames<PipelineState> {
  static constexpr std::pair<PipelineState, std::string_view> kTable[] = {
      {PipelineState::kPending, "PENDING"},     {PipelineState::kRunning, "RUNNING"},
      {PipelineState::kSucceeded, "SUCCEEDED"}, {PipelineState::kFailed, "FAILED"},
      {PipelineState::kCanceled, "CANCELED"},   {PipelineState::kSkipped, "SKIPPED"},
  };
};

template <>
struct EnumNames<PipelineTaskKind> {
  static constexpr std::pair<PipelineTaskKind, std::string_view> kTable[] = {
      {PipelineTaskKind::kContainer, "Container"},
      {PipelineTaskKind::kDag, "DAG"},
      {PipelineTaskKind::kLoop, "ParallelFor"},
      {PipelineTaskKind::kIteration, "Iteration"},
  };
};

template <>
struct EnumNames<NotebookPhase> {
  static constexpr std::pair<NotebookPhase, std::string_view> kTable[] = {
      {NotebookPhase::kPending, "Pending"},
      {NotebookPhase::kRunning, "Running"},
      {NotebookPhase::kStopping, "Stopping"},
      {NotebookPhase::kStopped, "Stopped"},
  };
};

inline bool is_terminal(PipelineState state) {
  return state != PipelineState::kPending && state != PipelineState::kRunning;
}

template <>
struct EnumNames<ConditionStatus> {
  static constexpr std::pair<ConditionStatus, std::string_view> kTable[] = {
      {ConditionStatus::kFalse, "False"},
      {ConditionStatus::kTrue, "True"},
  };
};

template <>
struct EnumNames<EventType> {
  static constexpr std::pair<EventType, std::string_view> kTable[] = {
      {EventType::kNormal, "Normal"},
      {EventType::kWarning, "Warning"},
  };
};

template <>
struct EnumNames<ExperimentPhase> {
  static constexpr std::pair<ExperimentPhase, std::string_view> kTable[] = {
      {ExperimentPhase::kCreated, "Created"},
      {ExperimentPhase::kRunning, "Running"},
      {ExperimentPhase::kSucceeded, "Succeeded"},
      {ExperimentPhase::kFailed, "Failed"},
  };
};

template <>
struct EnumNames<TrialPhase> {
  static constexpr std::pair<TrialPhase, std::string_view> kTable[] = {
      {TrialPhase::kRunning, "Running"},
      {TrialPhase::kSucceeded, "Succeeded"},
      {TrialPhase::kFailed, "Failed"},
      {TrialPhase::kEarlyStopped, "EarlyStopped"},
      {TrialPhase::kMetricsUnavailable, "MetricsUnavailable"},
      {TrialPhase::kKilled, "Killed"},
  };
};

template <>
struct EnumNames<ServiceReplicaState> {
  static constexpr std::pair<ServiceReplicaState, std::string_view> kTable[] = {
      {ServiceReplicaState::kPending, "Pending"}, {ServiceReplicaState::kStarting, "Starting"},
      {ServiceReplicaState::kReady, "Ready"},     {ServiceReplicaState::kDraining, "Draining"},
      {ServiceReplicaState::kFailed, "Failed"},
  };
};

template <>
struct EnumNames<ServiceConditionType> {
  static constexpr std::pair<ServiceConditionType, std::string_view> kTable[] = {
      {ServiceConditionType::kPredictorReady, "PredictorReady"},
      {ServiceConditionType::kIngressReady, "IngressReady"},
      {ServiceConditionType::kReady, "Ready"},
  };
};

inline bool is_terminal(ExperimentPhase phase) {
  return phase == ExperimentPhase::kSucceeded || phase == ExperimentPhase::kFailed;
}

inline bool is_terminal(JobPhase phase) {
  return phase == JobPhase::kSucceeded || phase == JobPhase::kFailed;
}
// Placed and not yet known to have ended: holds its slot, may still write.
inline bool is_alive(ReplicaState state) {
  return state == ReplicaState::kStarting || state == ReplicaState::kRunning ||
         state == ReplicaState::kTerminating;
}
// The condition a phase sets.
inline ConditionType condition_of(JobPhase phase) {
  switch (phase) {
    case JobPhase::kQueued:
      return ConditionType::kQueued;
    case JobPhase::kRunning:
      return ConditionType::kRunning;
    case JobPhase::kRestarting:
      return ConditionType::kRestarting;
    case JobPhase::kSucceeded:
      return ConditionType::kSucceeded;
    case JobPhase::kFailed:
      return ConditionType::kFailed;
    case JobPhase::kSuspended:
      return ConditionType::kSuspended;
  }
  return ConditionType::kQueued;
}

// Reasons Cadre sets on jobs, replicas, conditions and events (docs/specs.md).
namespace reason {
// Job and condition reasons.
inline constexpr const char* kCreated = "Created";
inline constexpr const char* kQueued = "Queued";
inline constexpr const char* kStarted = "Started";
inline constexpr const char* kAdopted = "Adopted";
inline constexpr const char* kCompleted = "Completed";  // also: a replica exited 0
inline constexpr const char* kError = "Error";          // also: a replica exited non-zero
inline constexpr const char* kUnschedulable = "Unschedulable";
inline constexpr const char* kDeadlineExceeded = "DeadlineExceeded";
inline constexpr const char* kBackoffLimitExceeded = "BackoffLimitExceeded";
inline constexpr const char* kReplicaRestart = "ReplicaRestart";
inline constexpr const char* kGangRestart = "GangRestart";
inline constexpr const char* kRescheduled = "Rescheduled";  // a launch that never ran, placed again
inline constexpr const char* kEvicted = "Evicted";          // its node was drained (cadre drain)
inline constexpr const char* kSuspended = "Suspended";      // cadre suspend, runPolicy.suspend
inline constexpr const char* kResumed = "Resumed";          // cadre resume
// Stopped for a higher-priority gang that could not fit otherwise, and queued again.
inline constexpr const char* kPreempted = "Preempted";
inline constexpr const char* kStoreUnavailable = "StoreUnavailable";
// A launch larger than its node's agent accepts (--max-message-bytes); nothing ran.
inline constexpr const char* kLaunchTooLarge = "LaunchTooLarge";
// Experiment and trial reasons (Katib's where Katib has them).
inline constexpr const char* kGoalReached = "GoalReached";
inline constexpr const char* kMaxTrialsReached = "MaxTrialsReached";
inline constexpr const char* kSearchSpaceExhausted = "SearchSpaceExhausted";
inline constexpr const char* kMaxFailedTrialsReached = "MaxFailedTrialsReached";
inline constexpr const char* kInvalidMetric = "InvalidMetric";
inline constexpr const char* kMetricsUnavailable = "MetricsUnavailable";
inline constexpr const char* kEarlyStopped = "EarlyStopped";
inline constexpr const char* kTrialCreated = "TrialCreated";
inline constexpr const char* kTrialPromoted = "TrialPromoted";
inline constexpr const char* kTrialFinished = "TrialFinished";
inline constexpr const char* kTrialKilled = "TrialKilled";
inline constexpr const char* kTrialJobLost = "TrialJobLost";  // its job was deleted under it
inline constexpr const char* kStopped = "Stopped";            // a job stopped by its owner
// InferenceService reasons (conditions and events).
inline constexpr const char* kRevisionCreated = "RevisionCreated";
inline constexpr const char* kRevisionReady = "RevisionReady";
inline constexpr const char* kRolledOut = "RolledOut";    // a revision got all the traffic
inline constexpr const char* kRolledBack = "RolledBack";  // canaryTrafficPercent: 0
inline constexpr const char* kCanary = "Canary";          // a revision got its canary share
inline constexpr const char* kReplicaCreated = "ReplicaCreated";
inline constexpr const char* kReplicaReady = "ReplicaReady";
inline constexpr const char* kReplicaFailed = "ReplicaFailed";
inline constexpr const char* kReplicaDraining = "ReplicaDraining";
inline constexpr const char* kReplicaStopped = "ReplicaStopped";
inline constexpr const char* kNoReadyReplicas = "NoReadyReplicas";
inline constexpr const char* kModelUnavailable = "ModelUnavailable";  // the model cannot be found
inline constexpr const char* kIngressNotConnected = "IngressNotConnected";  // or not synced yet
inline constexpr const char* kRoutesPublished = "RoutesPublished";
inline constexpr const char* kScaled = "Scaled";  // the autoscaler changed a revision's count
// Event-only reasons.
inline constexpr const char* kScheduled = "Scheduled";
inline constexpr const char* kReplicaCompleted = "ReplicaCompleted";
inline constexpr const char* kExpired = "Expired";
inline constexpr const char* kStoreRetry = "StoreRetry";
inline constexpr const char* kMetricsDropped = "MetricsDropped";  // past max-metric-names
// Replica exit reasons that say nothing about the program (infrastructure).
inline constexpr const char* kNodeLost = "NodeLost";
inline constexpr const char* kReplicaLost = "ReplicaLost";
inline constexpr const char* kLaunchLost = "LaunchLost";
inline constexpr const char* kLeaseExpired = "LeaseExpired";
inline constexpr const char* kPortInUse = "PortInUse";
// Replica exit reasons the agent reports about the program or its launch.
inline constexpr const char* kKilled = "Killed";
inline constexpr const char* kOOMKilled = "OOMKilled";  // over its memory request (cgroup)
inline constexpr const char* kSignaled = "Signaled";
inline constexpr const char* kLaunchFailed = "LaunchFailed";
// Notebooks.
inline constexpr const char* kNotebookStarted = "Started";    // its server answers
inline constexpr const char* kNotebookStopped = "Stopped";    // spec.stopped
inline constexpr const char* kIdleCulled = "IdleCulled";      // idle past idleCullingMinutes
inline constexpr const char* kServerExited = "ServerExited";  // restarted after it ended
inline constexpr const char* kCrashLoopBackOff = "CrashLoopBackOff";
inline constexpr const char* kWaitingForNode = "WaitingForNode";  // its pinned node is away
}  // namespace reason

}  // namespace cadre::protocol

// Every message of the coordinator's wire — agents and clients — in one place
// (STYLE.md §2). The data-plane wires between replicas have their own schema files
// beside this one: protocol/ps_messages.h (training rendezvous and parameter
// servers) and protocol/exec_messages.h (cadre-rsh). All are encoded by the one
// codec, protocol/codec.h.
//
// A message is a ZeroMQ multipart [header][body]; both parts are msgpack maps
// (MSGPACK_DEFINE_MAP), so fields travel by name and a field a peer does not know
// is ignored, while a field it does not send keeps its default. Add fields freely;
// bump kProtocolVersion only for changes an old peer would misread.
//
// Directions: A = agent, C = coordinator, U = user client ("cadre"), I = ingress.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "protocol/states.h"

namespace cadre::protocol {

inline constexpr int kProtocolVersion = 1;

enum class MessageKind : uint16_t {
  kInvalid = 0,
  // ---- agent <-> coordinator (port 7070) ----
  kRegister = 100,             // A->C RegisterRequest
  kRegisterReply = 101,        // C->A RegisterReply
  kHeartbeat = 102,            // A->C Heartbeat
  kHeartbeatAck = 103,         // C->A HeartbeatAck
  kLaunchReplica = 104,        // C->A LaunchReplica
  kKillReplica = 105,          // C->A KillReplica
  kReplicaStarted = 106,       // A->C ReplicaStarted
  kReplicaExited = 107,        // A->C ReplicaExited (resent until acknowledged)
  kReplicaExitedAck = 108,     // C->A ReplicaExitedAck
  kMetrics = 109,              // A->C MetricsReport
  kReadLogs = 110,             // C->A ReadLogs
  kLogsChunk = 111,            // A->C LogsChunk
  kReplicaReady = 112,         // A->C ReplicaReadiness (on every change)
  kRemoveReplicaFiles = 113,   // C->A RemoveReplicaFiles (a job was deleted)
  kReplicaFilesRemoved = 114,  // A->C ReplicaFilesRemoved (answers RemoveReplicaFiles)
  // ---- client <-> coordinator (port 7071) ----
  kApply = 200,                // U->C ApplyRequest
  kApplyReply = 201,           // C->U ApplyReply
  kGet = 202,                  // U->C GetRequest
  kGetReply = 203,             // C->U GetReply
  kDelete = 204,               // U->C DeleteRequest
  kDeleteReply = 205,          // C->U DeleteReply
  kLogs = 206,                 // U->C LogsRequest
  kLogsReply = 207,            // C->U LogsReply
  kTokenCreate = 208,          // U->C TokenCreateRequest
  kTokenCreateReply = 209,     // C->U TokenCreateReply
  kRetry = 210,                // U->C RetryRequest
  kRetryReply = 211,           // C->U RetryReply
  kMetricsHistory = 212,       // U->C MetricsHistoryRequest
  kMetricsHistoryReply = 213,  // C->U MetricsHistoryReply
  kCordon = 214,               // U->C CordonRequest
  kCordonReply = 215,          // C->U CordonReply
  kSuspend = 216,              // U->C SuspendRequest
  kSuspendReply = 217,         // C->U SuspendReply
  kError = 299,                // C->U or C->A ErrorReply to any request
  // ---- ingress <-> coordinator (port 7072) ----
  kRoutes = 300,       // I->C RoutesRequest (polled)
  kRoutesReply = 301,  // C->I RoutesReply
  // A user's call through the ingress's HTTP API, answered with the client wire's
  // reply for its verb (GetReply, ApplyReply, DeleteReply, LogsReply,
  // MetricsHistoryReply, SuspendReply) or an ErrorReply, on this port.
  kApi = 302,  // I->C ApiRequest
  // The replica-to-replica wires are separate schemas (see the top of this file);
  // they carry their own kinds and never reach these ports.
};

// True for the kinds listed above; decoding rejects any other number.
bool is_known_kind(MessageKind kind);
const char* kind_name(MessageKind kind);

struct Header {
  int v = kProtocolVersion;                  // protocol version of the sender; must equal ours
  MessageKind kind = MessageKind::kInvalid;  // what the body is
  uint64_t id = 0;                           // sender-chosen id, unique per sender connection
  uint64_t reply_to = 0;                     // id of the request this answers; 0 if not a reply
  uint64_t epoch = 0;  // agent registration epoch (fencing); 0 on the client wire
  MSGPACK_DEFINE_MAP(v, kind, id, reply_to, epoch)
};

// ---------------------------------------------------------------------------
// Agent <-> coordinator
// ---------------------------------------------------------------------------

// A replica the agent is running (or has finished) when it registers, so a
// restarted coordinator can adopt it instead of starting it twice.
struct ReplicaReport {
  std::string uid;    // replica instance id assigned by the coordinator
  std::string job;    // owning job name
  int64_t pid = 0;    // process id on the node (its process group id too)
  int64_t epoch = 0;  // registration epoch under which it was launched
  MSGPACK_DEFINE_MAP(uid, job, pid, epoch)
};

struct RegisterRequest {
  std::string name;                           // node name, unique in the cluster (DNS label)
  std::string address;                        // host or IP other replicas use to reach this node
  int64_t cpu_millis = 0;                     // allocatable CPU in millicores
  int64_t memory_bytes = 0;                   // allocatable memory
  int32_t gpus = 0;                           // number of whole GPUs, indices 0..gpus-1
  std::vector<std::string> gpu_models;        // one name per GPU, from nvidia-smi
  std::map<std::string, std::string> labels;  // free-form node labels
  std::vector<ReplicaReport> running;         // replicas alive on this node now
  std::string agent_version;                  // cadre version string of the agent
  int32_t port_min = 0;  // first port of the range the coordinator may assign to replicas here
  int32_t port_max = 0;  // last port of that range (inclusive); 0 and 0: no ports to assign
  // The largest message this agent accepts (its ZMQ_MAXMSGSIZE); a larger one would end its
  // connection, so the coordinator never sends it one. 0: not said (an older agent).
  int64_t max_message_bytes = 0;
  MSGPACK_DEFINE_MAP(name, address, cpu_millis, memory_bytes, gpus, gpu_models, labels, running,
                     agent_version, port_min, port_max, max_message_bytes)
};

struct RegisterReply {
  std::string node;                      // the accepted node name
  uint64_t epoch = 0;                    // fencing epoch: every later command carries it
  int64_t heartbeat_interval_ms = 1000;  // how often the agent must heartbeat
  std::vector<std::string> kill;         // uids of reported replicas the agent must kill (stale)
  // Fencing lease: an agent that has not had a HeartbeatAck for this long kills all of its
  // replicas, so that they are dead before the coordinator declares the node Lost and
  // starts them elsewhere. 0: no lease.
  int64_t lease_ms = 0;
  MSGPACK_DEFINE_MAP(node, epoch, heartbeat_interval_ms, kill, lease_ms)
};

struct Heartbeat {
  std::string node;                  // node name as registered
  std::vector<std::string> running;  // uids of replicas alive now
  MSGPACK_DEFINE_MAP(node, running)
};

struct HeartbeatAck {
  bool known = true;  // false: the coordinator does not know this node/epoch; re-register
  MSGPACK_DEFINE_MAP(known)
};

// Where a replica's metrics come from (an experiment's metricsCollectorSpec). Every
// replica may also push lines to CADRE_METRICS_ADDR, whatever the source.
struct MetricsCollection {
  std::string source;  // "" or "stdout": its output; "file": `file`; "push": pushes only
  std::string file;    // "file": a path relative to the replica's working folder
  std::vector<std::string> formats;  // regexes (name, value groups); empty: metric lines
  MSGPACK_DEFINE_MAP(source, file, formats)
};

struct LaunchReplica {
  std::string uid;                         // replica instance id (unique across restarts)
  std::string job;                         // job name
  std::string ns;                          // namespace (CADRE_NAMESPACE)
  std::string replica_type;                // e.g. "Main", "Worker" (CADRE_REPLICA_TYPE)
  int32_t replica_index = 0;               // index within its type (CADRE_REPLICA_INDEX)
  int32_t rank = 0;                        // global rank (CADRE_RANK)
  int32_t world_size = 1;                  // number of ranks (CADRE_WORLD_SIZE)
  std::vector<std::string> command;        // argv[0..]: the executable and its leading args
  std::vector<std::string> args;           // appended to command
  std::map<std::string, std::string> env;  // user env plus the contract computed by C
  std::string working_dir;           // relative to the replica dir, or absolute; empty: replica dir
  int64_t cpu_millis = 0;            // requested CPU (informational; not a cgroup limit yet)
  int64_t memory_bytes = 0;          // requested memory
  std::vector<int32_t> gpu_indices;  // GPUs assigned: CUDA_VISIBLE_DEVICES
  int32_t port = 0;                  // port reserved for it on this node (its CADRE_PEERS entry)
  // MPI hostfile text; when set the agent writes it to the replica dir as "hostfile" and
  // points CADRE_HOSTFILE and OMPI_MCA_orte_default_hostfile at it.
  std::string hostfile;
  // The coordinator's shared checkpoint root: the agent creates CADRE_CHECKPOINT_DIR
  // before launch only when it lies inside this root or the agent's own work dir, so
  // a spec that overrides the variable cannot make the agent create folders elsewhere.
  std::string checkpoint_root;
  MetricsCollection metrics;  // where the agent reads the replica's metrics
  // When set, the agent probes http://<its address>:<port><readiness_path> (a serving
  // replica's /v2/health/ready) and reports each change as ReplicaReadiness.
  std::string readiness_path;
  // A stateless server (a serving replica): the fencing lease does not stop it. Two
  // copies of it answering is harmless; stopping it while the coordinator is away
  // would be an outage the ingress could otherwise ride out.
  bool outlives_lease = false;
  MSGPACK_DEFINE_MAP(uid, job, ns, replica_type, replica_index, rank, world_size, command, args,
                     env, working_dir, cpu_millis, memory_bytes, gpu_indices, port, hostfile,
                     checkpoint_root, metrics, readiness_path, outlives_lease)
};

struct KillReplica {
  std::string uid;           // replica to stop
  int64_t grace_ms = 10000;  // SIGTERM, then SIGKILL after this long
  std::string reason;        // why, for the agent's log
  MSGPACK_DEFINE_MAP(uid, grace_ms, reason)
};

struct ReplicaStarted {
  std::string uid;         // replica instance id
  std::string job;         // job name
  int64_t pid = 0;         // process id (and process group id)
  int64_t started_ms = 0;  // wall clock, ms since the Unix epoch
  MSGPACK_DEFINE_MAP(uid, job, pid, started_ms)
};

struct ReplicaExited {
  std::string uid;          // replica instance id
  std::string job;          // job name
  int32_t exit_code = 0;    // exit status when it exited normally, else 128+signal
  int32_t signal = 0;       // terminating signal, 0 if it exited normally
  std::string reason;       // "Completed", "Error", "Killed", "LaunchFailed", ...
  std::string message;      // detail, e.g. "execvp(foo): No such file or directory"
  int64_t finished_ms = 0;  // wall clock, ms since the Unix epoch
  MSGPACK_DEFINE_MAP(uid, job, exit_code, signal, reason, message, finished_ms)
};

struct ReplicaExitedAck {
  std::string uid;  // the exit is stored; the agent may forget it
  MSGPACK_DEFINE_MAP(uid)
};

struct MetricSample {
  std::string name;     // metric name, e.g. "accuracy"
  double value = 0;     // its value
  int64_t step = 0;     // the epoch/step/iteration field of the line, else a line counter
  int64_t time_ms = 0;  // when the agent read it
  MSGPACK_DEFINE_MAP(name, value, step, time_ms)
};

struct MetricsReport {
  std::string uid;                    // replica that printed them
  std::string job;                    // job name
  std::vector<MetricSample> samples;  // in the order printed
  MSGPACK_DEFINE_MAP(uid, job, samples)
};

// A probed replica became ready or stopped being ready.
struct ReplicaReadiness {
  std::string uid;      // replica instance id
  std::string job;      // job name
  bool ready = false;   // its readiness path answered 200
  std::string message;  // why not, when not ("connection refused", "HTTP 503")
  MSGPACK_DEFINE_MAP(uid, job, ready, message)
};

struct ReadLogs {
  std::string uid;              // replica whose log to read
  int64_t offset = 0;           // byte offset to start from; negative: from the end
  int64_t max_bytes = 1 << 20;  // most bytes to return
  MSGPACK_DEFINE_MAP(uid, offset, max_bytes)
};

// A job is deleted: the agent removes the folder (replicas/<uid>/) and the log
// (logs/<uid>.log) of every replica of it that it ran, and of one still running
// once it exits. Checkpoints stay: a model may be served from them. Nothing can
// read these files once the job is gone (logs are found through the job).
struct RemoveReplicaFiles {
  std::string job;         // job name, for the agent's log
  std::string uid_prefix;  // "<job>-<incarnation>-": how every replica uid of the job begins
  // The job's replica names ("main-0", "worker-1"): a uid of the job is
  // uid_prefix + name + "-" + instance number, and nothing else matches.
  std::vector<std::string> replicas;
  MSGPACK_DEFINE_MAP(job, uid_prefix, replicas)
};

// The agent has done what a RemoveReplicaFiles asked (a replica still running is
// cleaned when it exits): the coordinator need not send it again when this node
// registers anew.
struct ReplicaFilesRemoved {
  std::string uid_prefix;  // the request's
  MSGPACK_DEFINE_MAP(uid_prefix)
};

struct LogsChunk {
  std::string uid;     // replica
  bool found = true;   // false: no log for this uid on the node
  int64_t offset = 0;  // offset of data[0]
  std::string data;    // the bytes
  int64_t size = 0;    // file size when read
  MSGPACK_DEFINE_MAP(uid, found, offset, data, size)
};

// ---------------------------------------------------------------------------
// Client <-> coordinator
// ---------------------------------------------------------------------------

struct ApplyRequest {
  std::string manifest;  // one YAML document (apiVersion cadre/v1); validated by C
  MSGPACK_DEFINE_MAP(manifest)
};

struct ApplyReply {
  std::string kind;    // e.g. "Job"
  std::string name;    // metadata.name
  std::string action;  // "created" or "unchanged"
  MSGPACK_DEFINE_MAP(kind, name, action)
};

struct GetRequest {
  std::string resource;  // "nodes", "jobs", "trainjobs", "experiments", "inferenceservices",
                         // "tokens", "pipelines", "runs", "recurringruns", "notebooks" or
                         // "queues"
  std::string name;      // empty: all
  // A page of a jobs or trainjobs list (the HTTP API; other kinds ignore these):
  // with limit > 0, at most `limit` jobs sorted by name, those after `after`, whose
  // names start with `prefix`, in `phase` ("" any) and, with by_owner, made by
  // `owner` ("" users' own). limit 0: every job, sorted by creation (the CLI).
  // (Initialized here so that GetRequest{"jobs", name} stays complete.)
  int32_t limit = 0;  // 0 .. kMaxGetPage
  std::string after = {};
  std::string prefix = {};
  std::string phase = {};
  bool by_owner = false;
  std::string owner = {};
  MSGPACK_DEFINE_MAP(resource, name, limit, after, prefix, phase, by_owner, owner)
};

inline constexpr int32_t kMaxGetPage = 10000;

struct NodeStatus {
  std::string name;                     // node name
  std::string address;                  // as registered
  NodeState state = NodeState::kReady;  // health as the registry sees it
  int64_t cpu_millis = 0;               // allocatable CPU
  int64_t memory_bytes = 0;             // allocatable memory
  int32_t gpus = 0;                     // GPUs
  std::vector<std::string> gpu_models;  // one name per GPU, as its agent registered them
  int64_t allocated_cpu_millis = 0;     // held by placed replicas
  int64_t allocated_memory_bytes = 0;
  int32_t allocated_gpus = 0;
  std::map<std::string, std::string> labels;  // node labels
  uint64_t epoch = 0;                         // current registration epoch
  int64_t last_heartbeat_ms = 0;              // wall clock of the last heartbeat
  std::vector<std::string> replicas;          // uids alive here, as its last heartbeat said
  bool cordoned = false;  // nothing new is placed here (cadre cordon); what runs keeps running
  MSGPACK_DEFINE_MAP(name, address, state, cpu_millis, memory_bytes, gpus, allocated_cpu_millis,
                     allocated_memory_bytes, allocated_gpus, labels, epoch, last_heartbeat_ms,
                     replicas, gpu_models, cordoned)
};

struct JobEvent {
  int64_t time_ms = 0;                  // wall clock
  EventType type = EventType::kNormal;  // Normal or Warning
  std::string reason;                   // CamelCase reason, e.g. "Scheduled"
  std::string message;                  // human sentence
  MSGPACK_DEFINE_MAP(time_ms, type, reason, message)
};

// A Kubeflow-style condition: the latest transition into or out of one state.
struct JobCondition {
  ConditionType type = ConditionType::kCreated;      // Created or one of the phases
  ConditionStatus status = ConditionStatus::kFalse;  // True or False
  std::string reason;  // CamelCase, e.g. "GangScheduled", "BackoffLimitExceeded"
  std::string message;
  int64_t last_transition_ms = 0;  // wall clock
  MSGPACK_DEFINE_MAP(type, status, reason, message, last_transition_ms)
};

// One replica of a job (a Job has one, "main-0"; a TrainJob one per type and index).
struct ReplicaStatus {
  std::string name;   // type in lower case, '-', index: "worker-1"
  std::string type;   // "Main", "Chief", "Master", "PS", "Worker", "Evaluator", "Launcher"
  int32_t index = 0;  // within its type
  int32_t rank = 0;   // CADRE_RANK
  std::string uid;    // current instance: "<job>-<name>-<attempt>"; changes on each restart
  ReplicaState state = ReplicaState::kPending;  // of the current instance
  std::string node;     // where the instance runs or ran; empty while Pending
  std::string address;  // host peers reach it at (the node's address)
  int32_t port = 0;     // its reserved port on that node (0: the node has no port range)
  std::vector<int32_t> gpu_indices;  // CUDA_VISIBLE_DEVICES
  uint64_t epoch = 0;                // node registration epoch it was launched under
  std::optional<int32_t> exit_code;  // of the last instance that exited
  std::string reason;                // of the last exit: "Completed", "Error", "NodeLost", ...
  int32_t restarts = 0;              // instances started after the first
  int64_t started_ms = 0;            // of the current instance; 0 until it runs
  bool ready = false;             // a probed replica (a server): its current instance answers ready
  std::string readiness_message;  // why it is not ready, as the agent's probe saw it
  MSGPACK_DEFINE_MAP(name, type, index, rank, uid, state, node, address, port, gpu_indices, epoch,
                     exit_code, reason, restarts, started_ms, ready, readiness_message)
};

// Per replica type, like Kubeflow's replicaStatuses.
struct ReplicaCounts {
  int32_t active = 0;     // placed and not yet exited
  int32_t succeeded = 0;  // current instance exited 0
  int32_t failed = 0;     // current instance failed
  MSGPACK_DEFINE_MAP(active, succeeded, failed)
};

struct JobStatus {
  std::string name;                    // metadata.name
  std::string kind;                    // "Job" or "TrainJob"
  std::string ns;                      // metadata.namespace
  JobPhase phase = JobPhase::kQueued;  // where the job is in its lifecycle
  std::string reason;   // why it is in that phase ("Completed", "Error", "Unschedulable", ...)
  std::string message;  // detail for the reason
  std::optional<int32_t> exit_code;  // of the replica, once it exited
  std::string node;                  // where the replica runs or ran
  std::string replica;               // current replica uid
  int64_t created_ms = 0;
  int64_t started_ms = 0;                 // 0 until Running
  int64_t finished_ms = 0;                // 0 until Succeeded/Failed
  std::map<std::string, double> metrics;  // latest value per metric name
  std::vector<JobEvent> events;           // only in replies for a single named job
  std::string manifest;                   // the applied YAML; only for a single named job
  std::vector<JobCondition> conditions;   // one per type, in the order they first happened
  std::vector<ReplicaStatus> replicas;    // in rank order
  std::map<std::string, ReplicaCounts> replica_statuses;  // by replica type
  int32_t restarts = 0;  // restarts so far (whole gang or single replica), against backoffLimit
  int32_t priority = 0;  // runPolicy.schedulingPolicy.priority
  std::string queue;     // runPolicy.schedulingPolicy.queue
  std::string owner;     // "experiment/<name>" for a trial's job; empty for the user's own
  // The folder name under the checkpoint root (CADRE_CHECKPOINT_DIR); empty: the
  // job's name. A trial's jobs share the trial's, so a promotion resumes.
  std::string checkpoint_name;
  MetricsCollection metrics_collection;  // a trial's: how its replicas' metrics are read
  std::string readiness_path;  // a serving replica's: what the agent probes (LaunchReplica)
  // The node every replica must run on (a Notebook's job: where its workspace is);
  // empty: any node the scheduler picks.
  std::string pinned_node;
  // When the job was last resumed (cadre resume); 0: never. Its activeDeadlineSeconds
  // counts from here, as a Kubernetes Job's does from its reset startTime.
  int64_t resumed_ms = 0;
  MSGPACK_DEFINE_MAP(name, kind, phase, reason, message, exit_code, node, replica, created_ms,
                     started_ms, finished_ms, metrics, events, manifest, conditions, replicas,
                     replica_statuses, restarts, priority, queue, owner, checkpoint_name,
                     metrics_collection, readiness_path, pinned_node, ns, resumed_ms)
};

// One trial of an experiment: a point of the search space run as one or more jobs
// (a promoted trial continues in a new job that shares its checkpoint folder).
struct TrialStatus {
  std::string name;                               // "<experiment>-<id>"
  int64_t id = 0;                                 // 1, 2, ... in creation order
  std::map<std::string, std::string> parameters;  // as the trial was given them
  std::vector<double> assignment;                 // the same point as the algorithms see it
  TrialPhase phase = TrialPhase::kRunning;
  std::string reason;                     // why it is in that phase
  std::string message;                    // detail for the reason
  std::optional<double> objective;        // by the objective's metric strategy
  std::map<std::string, double> metrics;  // objective and additional metrics, by strategy
  std::map<int64_t, double> curve;        // objective value by step (epoch), as reported
  int64_t resource = 0;                   // multi-fidelity budget given so far (e.g. epochs)
  int32_t bracket = 0;                    // Hyperband bracket
  int32_t rung = 0;                       // rung reached in the schedule
  std::vector<std::string> jobs;          // its jobs in order; the last is the current one
  int64_t epochs = 0;                     // steps trained and reported, every job together
  int64_t epochs_resumed = 0;  // steps a promotion did not train again (from its checkpoint)
  int64_t created_ms = 0;
  int64_t finished_ms = 0;  // of its latest job; 0 while running
  MSGPACK_DEFINE_MAP(name, id, parameters, assignment, phase, reason, message, objective, metrics,
                     curve, resource, bracket, rung, jobs, epochs, epochs_resumed, created_ms,
                     finished_ms)
};

// The best trial so far (Katib's currentOptimalTrial).
struct OptimalTrial {
  std::string best_trial_name;                               // empty until one succeeded
  std::map<std::string, std::string> parameter_assignments;  // its parameters
  std::map<std::string, double> observation;                 // its metrics
  MSGPACK_DEFINE_MAP(best_trial_name, parameter_assignments, observation)
};

struct ExperimentStatus {
  std::string name;
  ExperimentPhase phase = ExperimentPhase::kCreated;
  std::string reason;            // GoalReached, MaxTrialsReached, SearchSpaceExhausted, ...
  std::string message;           // detail for the reason
  std::string algorithm;         // spec.algorithm.algorithmName
  std::string objective_metric;  // spec.objective.objectiveMetricName
  std::string objective_type;    // "maximize" or "minimize"
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::string manifest;                  // the applied YAML; only for a single named one
  std::vector<JobCondition> conditions;  // Created, Running, Succeeded or Failed
  std::vector<JobEvent> events;          // only for a single named one
  std::vector<TrialStatus> trials;       // only for a single named one
  OptimalTrial current_optimal_trial;
  int32_t trials_total = 0;  // created so far
  int32_t trials_running = 0;
  int32_t trials_succeeded = 0;
  int32_t trials_failed = 0;
  int32_t trials_early_stopped = 0;
  int32_t trials_metrics_unavailable = 0;
  int32_t trials_killed = 0;
  int64_t epochs_consumed = 0;  // steps trained by every trial together
  int64_t epochs_resumed = 0;   // steps promotions did not train again
  std::string ns;               // metadata.namespace: its trials' jobs run there
  MSGPACK_DEFINE_MAP(name, phase, reason, message, algorithm, objective_metric, objective_type,
                     created_ms, started_ms, finished_ms, manifest, conditions, events, trials,
                     current_optimal_trial, trials_total, trials_running, trials_succeeded,
                     trials_failed, trials_early_stopped, trials_metrics_unavailable, trials_killed,
                     epochs_consumed, epochs_resumed, ns)
};

// One serving replica of an InferenceService: a one-replica job running cadre-serve.
struct ServiceReplica {
  std::string job;       // "<service>-<revision number>-<k>", the job that runs it
  std::string revision;  // the revision it serves
  ServiceReplicaState state = ServiceReplicaState::kPending;
  std::string node;     // where it runs; empty while Pending
  std::string address;  // the host the ingress reaches it at
  int32_t port = 0;     // its HTTP port there
  std::string uid;      // the job's current replica instance
  std::string message;  // why it is not ready, or how it ended
  int64_t created_ms = 0;
  int64_t ready_ms = 0;  // when it last became ready; 0 until then
  // Its node is drained (cadre drain): it keeps serving until a replacement on
  // another node is ready, then drains like a replica scaled in.
  bool evicted = false;
  MSGPACK_DEFINE_MAP(job, revision, state, node, address, port, uid, message, created_ms, ready_ms,
                     evicted)
};

// One revision: the predictor as one apply made it (KServe/Knative revisions).
struct RevisionStatus {
  std::string name;        // "<service>-<5-digit generation>", e.g. "fmnist-00002"
  int64_t generation = 0;  // 1, 2, ... per predictor change
  std::string manifest;    // the manifest that made it
  std::string model_format;
  std::string storage_uri;
  std::string model_path;    // where the replicas load the model from (resolved)
  int32_t min_replicas = 1;  // its predictor's bounds
  int32_t max_replicas = 1;
  int32_t desired_replicas = 0;  // what the supervisor keeps running now
  int32_t ready_replicas = 0;
  int32_t next_replica = 1;     // the next replica job's number
  int32_t recent_failures = 0;  // replicas that failed in a row (crash-loop backoff)
  int64_t created_ms = 0;
  // When a replica of it first answered ready; 0: never. Only a revision that has
  // proven it can serve is scaled to zero, and kept in the routes while at zero.
  int64_t first_ready_ms = 0;
  MSGPACK_DEFINE_MAP(name, generation, manifest, model_format, storage_uri, model_path,
                     min_replicas, max_replicas, desired_replicas, ready_replicas, next_replica,
                     recent_failures, created_ms, first_ready_ms)
};

// Where the ingress sends a share of the service's requests (KServe's status.traffic).
struct TrafficTarget {
  std::string revision_name;
  int32_t percent = 0;
  bool latest_revision = false;  // it is the latest created revision
  MSGPACK_DEFINE_MAP(revision_name, percent, latest_revision)
};

struct ServiceCondition {
  ServiceConditionType type = ServiceConditionType::kReady;
  ConditionStatus status = ConditionStatus::kFalse;
  std::string reason;
  std::string message;
  int64_t last_transition_ms = 0;
  MSGPACK_DEFINE_MAP(type, status, reason, message, last_transition_ms)
};

struct InferenceServiceStatus {
  std::string name;
  std::string ns;      // metadata.namespace
  std::string url;     // http://<ingress>/v2/models/<name>; empty until an ingress is known
  bool ready = false;  // the Ready condition
  int64_t created_ms = 0;
  std::string manifest;                      // the latest applied YAML; only for a single named one
  std::vector<ServiceCondition> conditions;  // PredictorReady, IngressReady, Ready
  std::vector<JobEvent> events;              // only for a single named one
  std::vector<TrafficTarget> traffic;        // the revisions with a share, in revision order
  std::vector<RevisionStatus> revisions;     // every revision that still has replicas or traffic
  std::vector<ServiceReplica> replicas;      // every replica of every revision
  std::string latest_created_revision;
  std::string latest_ready_revision;
  std::string latest_rolledout_revision;          // had all the traffic last
  std::string previous_rolledout_revision;        // had it before that (rollback target)
  std::optional<int32_t> canary_traffic_percent;  // as applied
  bool auth = true;                               // the ingress asks a token
  int64_t generation = 0;                         // of the latest revision
  MSGPACK_DEFINE_MAP(name, ns, url, ready, created_ms, manifest, conditions, events, traffic,
                     revisions, replicas, latest_created_revision, latest_ready_revision,
                     latest_rolledout_revision, previous_rolledout_revision, canary_traffic_percent,
                     auth, generation)
};

// ---- Pipelines (docs/pipelines.md) ----

// One stored version of a Pipeline: each apply of a changed spec adds one.
struct PipelineVersion {
  int32_t version = 0;  // 1, 2, ...
  int64_t created_ms = 0;
  std::string manifest;  // the applied YAML; only for a single named pipeline
  MSGPACK_DEFINE_MAP(version, created_ms, manifest)
};

// A run input the pipeline declares (root.inputDefinitions.parameters).
struct PipelineParameter {
  std::string name;
  std::string type;           // STRING, NUMBER_INTEGER, NUMBER_DOUBLE, BOOLEAN, LIST, STRUCT
  std::string default_value;  // JSON; empty when there is none
  bool optional = false;
  MSGPACK_DEFINE_MAP(name, type, default_value, optional)
};

struct PipelineInfo {
  std::string name;
  std::string description;  // pipelineInfo.description
  int64_t created_ms = 0;
  int32_t latest_version = 0;
  std::vector<PipelineParameter> parameters;  // of the latest version
  std::vector<PipelineVersion> versions;      // every version, oldest first
  MSGPACK_DEFINE_MAP(name, description, created_ms, latest_version, parameters, versions)
};

// An artifact a task produced or read.
struct PipelineArtifact {
  std::string name;  // its output (or input) key
  std::string
      uri;  // file:///<checkpoint root>/<namespace>/_pipelines/<run>/<task>/artifacts/<name>
  std::string schema_title;  // system.Model, system.Metrics, system.Dataset, ...
  std::string metadata;      // JSON object (from executor_output.json); "{}" when none
  MSGPACK_DEFINE_MAP(name, uri, schema_title, metadata)
};

// One task of a run: a step, a sub-DAG, a loop or one loop iteration.
struct PipelineTaskStatus {
  std::string id;      // its path in the run: "train", "condition-1/deploy", "for-loop-2/0/double"
  std::string parent;  // the id of the DAG, loop or iteration holding it; "" at the root
  std::string name;    // its name in its DAG (an iteration's is its index)
  PipelineTaskKind kind = PipelineTaskKind::kContainer;
  std::string component;  // componentRef.name
  PipelineState state = PipelineState::kPending;
  std::string message;      // why it failed or was skipped
  int32_t attempts = 0;     // jobs started for it (retries included)
  std::string job;          // its current or last job
  int64_t retry_at_ms = 0;  // waiting to retry until then (0: not waiting)
  bool collecting = false;  // its job succeeded; its outputs are being read
  bool cached = false;      // its outputs were reused from an earlier execution
  std::string cached_from;  // then: "<run>/<task id>" of the execution it reused
  std::string fingerprint;  // a step's cache key (executor, inputs, output definitions)
  // The tasks it waited for (dependentTasks and the producers of its inputs), by
  // id: with the artifacts' URIs, the edges `cadre lineage` walks.
  std::vector<std::string> upstream;
  std::string inputs;   // JSON object: the input parameter values it ran with
  std::string outputs;  // JSON object: its output parameter values
  // JSON object: what its job reported as it ended (final metrics; a deployed
  // service's url, name, revision), read for outputs it wrote no file for.
  std::string reported;
  std::vector<PipelineArtifact> input_artifacts;
  std::vector<PipelineArtifact> output_artifacts;
  std::string items;       // a loop's items (JSON list)
  int64_t created_ms = 0;  // when it was triggered (or skipped)
  int64_t started_ms = 0;  // when its current job was created
  int64_t finished_ms = 0;
  // The kind of what `job` names: "Job", "TrainJob", "Experiment" or
  // "InferenceService"; "" until it starts one (and in records written before
  // this field, where a name without a kind prefix is a Job's or TrainJob's).
  std::string workload_kind;
  MSGPACK_DEFINE_MAP(id, parent, name, kind, component, state, message, attempts, job, retry_at_ms,
                     collecting, cached, cached_from, fingerprint, upstream, inputs, outputs,
                     reported, input_artifacts, output_artifacts, items, created_ms, started_ms,
                     finished_ms, workload_kind)
};

struct PipelineRunStatus {
  std::string name;
  std::string ns;  // the namespace its jobs run in
  std::string pipeline;
  int32_t pipeline_version = 0;
  std::string experiment;  // the group it is listed under ("Default" unless given)
  bool caching = true;     // steps may reuse earlier executions' outputs (spec.enableCaching)
  PipelineState state = PipelineState::kPending;
  std::string message;     // why it failed or was canceled
  std::string parameters;  // JSON object: the run's input parameters, defaults applied
  std::string outputs;     // JSON object: root.dag.outputs, once it succeeded
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  int64_t next_job = 1;                   // jobs are named <run>-<n>; n never repeats within a run
  std::string manifest;                   // the PipelineRun as applied; only for a single named run
  std::vector<PipelineTaskStatus> tasks;  // only for a single named run
  std::vector<JobEvent> events;           // only for a single named run
  int32_t tasks_total = 0;                // container tasks triggered so far
  int32_t tasks_succeeded = 0;
  int32_t tasks_failed = 0;
  int32_t tasks_skipped = 0;
  int32_t tasks_cached = 0;
  std::string recurring_run;  // the RecurringRun that started it; empty when started by hand
  int64_t scheduled_ms =
      0;  // then: the time it was scheduled for ({{$.pipeline_job_schedule_time_utc}})
  MSGPACK_DEFINE_MAP(name, ns, pipeline, pipeline_version, experiment, caching, state, message,
                     parameters, outputs, created_ms, started_ms, finished_ms, next_job, manifest,
                     tasks, events, tasks_total, tasks_succeeded, tasks_failed, tasks_skipped,
                     tasks_cached, recurring_run, scheduled_ms)
};

// A RecurringRun (docs/pipelines.md#schedules): a schedule that starts runs of a
// pipeline, named <recurring run>-<yyyymmddhhmmss> after the time each was due.
struct RecurringRunStatus {
  std::string name;
  std::string ns;
  std::string pipeline;  // spec.pipelineRef.name
  std::string trigger;   // "cron 0 0 2 * * *" or "every 3600s"
  bool enabled = true;   // spec.mode
  int32_t max_concurrency = 1;
  bool no_catchup = false;
  int64_t created_ms = 0;
  int64_t last_scheduled_ms = 0;  // the time the latest run it started was due (0: none yet)
  int64_t next_ms = 0;            // when it is due next (0: never again, or disabled)
  int64_t runs_started = 0;
  std::string last_run;          // the latest run it started
  std::string message;           // why it waits (maxConcurrency), or the last start that failed
  std::string manifest;          // the RecurringRun as applied
  std::vector<JobEvent> events;  // only for a single named one
  int64_t changed_ms = 0;  // its schedule was last changed then: earlier times are not made up
  MSGPACK_DEFINE_MAP(name, ns, pipeline, trigger, enabled, max_concurrency, no_catchup, created_ms,
                     last_scheduled_ms, next_ms, runs_started, last_run, message, manifest, events,
                     changed_ms)
};

// A Notebook (docs/notebooks.md): a Jupyter server run as a one-replica job
// "<name>-<k>" (a new k for every start), pinned to the node that holds its workspace.
struct NotebookStatus {
  std::string name;
  std::string ns;
  NotebookPhase phase = NotebookPhase::kPending;
  std::string reason;   // why it is in that phase (Stopped, IdleCulled, CrashLoopBackOff, ...)
  std::string message;  // detail for the reason
  bool ready = false;   // its server answers (the agent probes it)
  std::string url;      // <ingress>/notebook/<ns>/<name>/; empty until an ingress is known
  std::string node;     // where it runs and its workspace is; empty until first placed
  std::string address;  // the host its server listens on (the node's address)
  int32_t port = 0;     // its server's port there
  std::vector<int32_t> gpu_indices;  // CUDA_VISIBLE_DEVICES of the running server
  int32_t gpus = 0;                  // spec.template.resources.gpu
  std::string workspace;             // the folder on its node
  std::string job;                   // its current server's job; empty while stopped
  int64_t jobs_started = 0;          // jobs made so far: the next is <name>-<jobs_started + 1>
  int32_t restarts = 0;              // servers started again after one ended on its own
  int32_t recent_failures = 0;       // servers that ended in a row (crash-loop back-off)
  std::optional<int64_t> idle_culling_minutes;
  int64_t last_activity_ms = 0;  // the latest activity the ingress saw (0: none reported)
  int64_t created_ms = 0;
  int64_t started_ms = 0;        // its current server became ready then; 0 while not running
  int64_t stopped_ms = 0;        // it was last stopped then
  std::string manifest;          // as applied (stop and start rewrite spec.stopped)
  std::vector<JobEvent> events;  // only for a single named one
  MSGPACK_DEFINE_MAP(name, ns, phase, reason, message, ready, url, node, address, port, gpu_indices,
                     gpus, workspace, job, jobs_started, restarts, recent_failures,
                     idle_culling_minutes, last_activity_ms, created_ms, started_ms, stopped_ms,
                     manifest, events)
};

// A user token as anyone may see it: never the token itself.
struct TokenInfo {
  std::string id;           // the first 12 hex digits of its SHA-256
  std::string ns;           // the namespace it may call
  std::string description;  // what it is for
  int64_t created_ms = 0;
  MSGPACK_DEFINE_MAP(id, ns, description, created_ms)
};

struct TokenCreateRequest {
  std::string ns = "default";  // the namespace the token may call
  std::string description;     // at most 256 bytes
  // A one-time login code instead (`cadre notebook open`): it opens one browser
  // session at the ingress within 5 minutes, and is kept only in memory.
  bool login_code = false;
  // How long the login code lasts: 0 for 5 minutes (a notebook link); `cadre
  // dashboard` asks for 60 s. At most 5 minutes.
  int64_t login_code_lifetime_ms = 0;
  MSGPACK_DEFINE_MAP(ns, description, login_code, login_code_lifetime_ms)
};

struct TokenCreateReply {
  TokenInfo info;
  std::string token;       // shown this once; only its hash is kept
  int64_t expires_ms = 0;  // a login code's end; 0 for a token (which lasts until deleted)
  // A login code's: the URL users reach the ingress at (from its last route
  // poll), where /login?code= redeems it; "" while no ingress has polled.
  std::string ingress_url;
  MSGPACK_DEFINE_MAP(info, token, expires_ms, ingress_url)
};

// Amounts of each resource where any may be unset (unlimited): a quota.
struct ResourceAmounts {
  std::optional<int64_t> cpu_millis;
  std::optional<int64_t> memory_bytes;
  std::optional<int32_t> gpus;
  MSGPACK_DEFINE_MAP(cpu_millis, memory_bytes, gpus)
};

// A scheduling queue (schedulingPolicy.queue), as Kueue's ClusterQueue status shows it:
// every queue with a quota, and any other that has a gang waiting or placed.
struct QueueStatus {
  std::string name;
  std::string cohort;               // "" when in none
  ResourceAmounts quota;            // --queue-quota; all unset: no quota
  ResourceAmounts borrowing_limit;  // past the quota, from the cohort; unset: the cohort's room
  std::string reclaim;              // "LowerPriority" or "Any"; "" without a cohort
  int64_t used_cpu_millis = 0;      // held by the queue's placed gangs
  int64_t used_memory_bytes = 0;
  int32_t used_gpus = 0;
  bool borrowing = false;  // holds more than its quota, lent by its cohort
  int32_t pending = 0;     // gangs waiting to be placed
  int32_t admitted = 0;    // jobs holding slots
  // Only when one queue is asked for by name, each at most kMaxQueueJobsListed: the
  // jobs of its waiting gangs in the order the scheduler tries them, and its placed ones.
  std::vector<std::string> pending_jobs;
  std::vector<std::string> admitted_jobs;
  MSGPACK_DEFINE_MAP(name, cohort, quota, borrowing_limit, reclaim, used_cpu_millis,
                     used_memory_bytes, used_gpus, borrowing, pending, admitted, pending_jobs,
                     admitted_jobs)
};

inline constexpr size_t kMaxQueueJobsListed = 1000;

struct GetReply {
  std::vector<NodeStatus> nodes;                   // for resource "nodes"
  std::vector<JobStatus> jobs;                     // for resources "jobs" and "trainjobs"
  std::vector<ExperimentStatus> experiments;       // for resource "experiments"
  std::vector<InferenceServiceStatus> services;    // for resource "inferenceservices"
  std::vector<TokenInfo> tokens;                   // for resource "tokens"
  std::vector<PipelineInfo> pipelines;             // for resource "pipelines"
  std::vector<PipelineRunStatus> runs;             // for resource "runs"
  std::vector<RecurringRunStatus> recurring_runs;  // for resource "recurringruns"
  std::vector<NotebookStatus> notebooks;           // for resource "notebooks"
  std::vector<QueueStatus> queues;                 // for resource "queues"
  MSGPACK_DEFINE_MAP(nodes, jobs, experiments, services, tokens, pipelines, runs, recurring_runs,
                     notebooks, queues)
};

struct DeleteRequest {
  std::string resource;  // "jobs", "trainjobs", "experiments", "inferenceservices", "tokens",
                         // "pipelines", "runs", "recurringruns" or "notebooks"
  std::string name;      // job or experiment name
  bool purge = false;    // a notebook's workspace folder is removed too (one Cadre made)
  MSGPACK_DEFINE_MAP(resource, name, purge)
};

struct DeleteReply {
  std::string name;  // deleted job
  MSGPACK_DEFINE_MAP(name)
};

struct LogsRequest {
  std::string resource;         // "jobs" or "trainjobs"
  std::string name;             // job name
  std::string replica;          // replica name ("worker-1"); empty: the first one (rank 0)
  int64_t offset = 0;           // byte offset; negative: that many bytes from the end
  int64_t max_bytes = 1 << 20;  // most bytes to return
  MSGPACK_DEFINE_MAP(resource, name, replica, offset, max_bytes)
};

struct LogsReply {
  std::string data;         // bytes from the log
  int64_t offset = 0;       // offset of data[0]
  int64_t next_offset = 0;  // where to continue
  bool finished = false;    // the replica has ended and all of its log was returned
  MSGPACK_DEFINE_MAP(data, offset, next_offset, finished)
};

// Retry a failed pipeline run from its failed steps (cadre retry run/NAME).
struct RetryRequest {
  std::string resource;  // "runs"
  std::string name;
  MSGPACK_DEFINE_MAP(resource, name)
};

struct RetryReply {
  std::string name;
  int32_t tasks_reset = 0;  // failed, canceled and not-started tasks that run again
  MSGPACK_DEFINE_MAP(name, tasks_reset)
};

// Marks a node unschedulable or schedulable again (cadre cordon / uncordon, as
// kubectl's): a cordoned node gets no new replica, keeps running what it has, and
// still counts toward what the cluster could ever hold. Kept across restarts.
struct CordonRequest {
  std::string node;    // node name
  bool cordon = true;  // false: uncordon
  // With cordon (cadre drain): every job with a replica running there also restarts
  // its gang elsewhere, not counted against its backoffLimit (reason Evicted).
  bool drain = false;
  MSGPACK_DEFINE_MAP(node, cordon, drain)
};

struct CordonReply {
  std::string node;
  bool cordoned = false;  // the node's state now
  bool changed = false;   // false when it already was so
  MSGPACK_DEFINE_MAP(node, cordoned, changed)
};

// Suspends or resumes a Job or TrainJob (cadre suspend / resume, as Kubeflow's
// runPolicy.suspend and a Kubernetes Job's spec.suspend): a suspended job's
// replicas are stopped and its nodes freed until it is resumed, when its whole
// gang is placed again and resumes from its checkpoints. Kept across restarts.
struct SuspendRequest {
  std::string resource;  // "jobs" or "trainjobs"
  std::string name;
  bool suspend = true;  // false: resume
  MSGPACK_DEFINE_MAP(resource, name, suspend)
};

struct SuspendReply {
  std::string name;
  JobPhase phase = JobPhase::kQueued;  // the job's phase once the change is stored
  bool changed = false;                // false when it already was so
  MSGPACK_DEFINE_MAP(name, phase, changed)
};

// Every stored metric point of a job, oldest first (`cadre metrics`, the Python
// SDK's metrics(history=True)). The store keeps a bounded history per series
// (actors/state_store.h MetricRetention), so old points may be thinned.
struct MetricsHistoryRequest {
  std::string resource;        // "jobs" or "trainjobs"
  std::string name;            // job name
  std::string metric;          // only this metric; empty: every one
  int64_t max_points = 10000;  // the newest this many points (1 .. kMaxMetricPoints)
  MSGPACK_DEFINE_MAP(resource, name, metric, max_points)
};

inline constexpr int64_t kMaxMetricPoints = 100000;

struct MetricPoint {
  std::string replica;  // the replica instance (uid) that reported it
  std::string name;     // metric name
  double value = 0;
  int64_t step = 0;     // epoch/step of the line, else a line counter
  int64_t time_ms = 0;  // when the agent read it
  MSGPACK_DEFINE_MAP(replica, name, value, step, time_ms)
};

struct MetricsHistoryReply {
  std::string name;                 // the job
  std::vector<MetricPoint> points;  // oldest first
  bool truncated = false;           // older points were left out (max_points)
  MSGPACK_DEFINE_MAP(name, points, truncated)
};

// ---------------------------------------------------------------------------
// Ingress <-> coordinator
// ---------------------------------------------------------------------------

// One replica the ingress may send requests to.
struct RouteEndpoint {
  std::string replica;  // its job name (in logs and metrics)
  std::string address;
  int32_t port = 0;
  MSGPACK_DEFINE_MAP(replica, address, port)
};

struct RevisionRoute {
  std::string revision;
  int32_t percent = 0;                   // its share of the service's requests
  std::vector<RouteEndpoint> endpoints;  // its ready replicas
  // Scaled to zero (or starting from zero): a request that finds no endpoint is held
  // by the ingress, which reports it as load, until a replica is ready.
  bool activate = false;
  MSGPACK_DEFINE_MAP(revision, percent, endpoints, activate)
};

struct ServiceRoute {
  std::string name;  // the model name in /v2/models/<name>/...
  std::string ns;
  bool auth = true;                   // requests need a Cadre token for `ns`
  std::string replica_token;          // the bearer token the service's replicas ask
  int64_t timeout_ms = 60000;         // per request
  int32_t container_concurrency = 0;  // most requests in flight per replica; 0: no limit
  std::vector<RevisionRoute> revisions;
  MSGPACK_DEFINE_MAP(name, ns, auth, replica_token, timeout_ms, container_concurrency, revisions)
};

// A user token the ingress accepts: only its hash travels.
struct IngressToken {
  std::string sha256;      // hex SHA-256 of the token
  std::string ns;          // the namespace it may call
  int64_t expires_ms = 0;  // a one-time login code: redeemable until then; 0: a token
  MSGPACK_DEFINE_MAP(sha256, ns, expires_ms)
};

// What an ingress saw of one revision since its previous poll (the autoscaler's input).
struct RevisionLoad {
  std::string service;
  std::string revision;
  double concurrency = 0;  // requests in flight, averaged over the interval
  double rps = 0;          // requests started per second over the interval
  MSGPACK_DEFINE_MAP(service, revision, concurrency, rps)
};

// Where the ingress proxies /notebook/<ns>/<name>/, or why it cannot.
struct NotebookRoute {
  std::string name;
  std::string ns;
  NotebookPhase phase = NotebookPhase::kPending;
  std::string reason;   // why it is in that phase (a stopped notebook's 503 says it)
  std::string message;  // detail for the reason
  bool ready = false;   // its server answers: requests go to address:port
  std::string address;  // its Jupyter server
  int32_t port = 0;
  std::string job;    // its current server's job
  std::string token;  // Jupyter's token, which the ingress adds to what it forwards
  MSGPACK_DEFINE_MAP(name, ns, phase, reason, message, ready, address, port, job, token)
};

// What an ingress read from a running notebook's server (Jupyter's api/status and
// api/kernels), as Kubeflow's culler reads it.
struct NotebookActivity {
  std::string name;
  std::string job;               // the server's job it read (a restarted one starts afresh)
  int64_t last_activity_ms = 0;  // Jupyter's latest activity (requests, kernels, terminals)
  bool busy = false;             // a kernel is executing
  int32_t kernels = 0;
  MSGPACK_DEFINE_MAP(name, job, last_activity_ms, busy, kernels)
};

struct RoutesRequest {
  uint64_t version = 0;            // the table the ingress has; 0: none
  std::string url;                 // how users reach this ingress ("http://127.0.0.1:8080")
  std::vector<RevisionLoad> load;  // every revision it routed to since its previous poll
  std::vector<NotebookActivity> notebooks;  // the notebooks it read since then
  std::vector<std::string> redeemed;        // SHA-256 of login codes it has used up
  MSGPACK_DEFINE_MAP(version, url, load, notebooks, redeemed)
};

struct RoutesReply {
  uint64_t version = 0;  // the coordinator's table
  bool changed = false;  // false: the ingress's table is current, nothing else is set
  std::vector<ServiceRoute> services;
  std::vector<IngressToken> tokens;       // user tokens
  std::vector<IngressToken> login_codes;  // one-time login codes not yet used up
  std::vector<NotebookRoute> notebooks;
  MSGPACK_DEFINE_MAP(version, changed, services, tokens, login_codes, notebooks)
};

// A call an ingress makes for a user it authenticated with a Cadre token (the HTTP
// API under the dashboard). The coordinator runs it as the client request of its
// verb, scoped to `ns` as a namespace-scoped client key is, and answers on the
// ingress port. Only the ingress key role may send it; the coordinator trusts the
// namespace because only an ingress, which checked the token, can say it.
struct ApiRequest {
  std::string ns;    // the token's namespace; the call sees and changes only it
  std::string user;  // the token's id (first 12 hex digits of its hash), for the logs
  std::string verb;  // "get", "apply", "delete", "logs", "metrics" or "suspend"
  GetRequest get;    // the verb's request; the others are left empty
  ApplyRequest apply;
  DeleteRequest remove;
  LogsRequest logs;
  MetricsHistoryRequest metrics;
  SuspendRequest suspend;  // suspend or resume, answered with SuspendReply
  MSGPACK_DEFINE_MAP(ns, user, verb, get, apply, remove, logs, metrics, suspend)
};

struct ErrorReply {
  std::string code;     // StatusCode name, e.g. "InvalidArgument"
  std::string message;  // what was wrong, with the field path or value
  MSGPACK_DEFINE_MAP(code, message)
};

}  // namespace cadre::protocol

MSGPACK_ADD_ENUM(cadre::protocol::MessageKind);

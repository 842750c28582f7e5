// Human output: kubectl-like tables for `get` and the page for `describe`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace cadre::client {

// A describe page's field name, padded so values line up in one column (wide
// enough for "Exit Code:"); a longer name still keeps one space before its value.
std::string describe_label(const std::string& name);

// Left-aligned columns separated by three spaces; an empty cell prints as "-"
// and no line has trailing spaces.
std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

// "Events:" over a TYPE, REASON, AGE, MESSAGE table; nothing when there are none.
std::string events_section(const std::vector<protocol::JobEvent>& events, int64_t now_ms);

// "Ready", or "Ready,SchedulingDisabled" for a cordoned node, as kubectl shows it.
std::string node_state_text(const protocol::NodeStatus& node);

// NAME STATE CPU MEMORY GPUS HEARTBEAT (+ ADDRESS EPOCH LABELS when wide). CPU,
// MEMORY and GPUS read "allocated/allocatable".
std::string nodes_table(const std::vector<protocol::NodeStatus>& nodes, int64_t now_ms, bool wide);
// NAME COHORT CPU MEMORY GPUS (used/quota; "-" where unlimited) PENDING ADMITTED;
// wide adds BORROWING-LIMIT and RECLAIM.
std::string queues_table(const std::vector<protocol::QueueStatus>& queues, bool wide);

// NAME KIND PHASE REASON EXIT NODE AGE (+ REPLICA DURATION METRICS MESSAGE when wide).
std::string jobs_table(const std::vector<protocol::JobStatus>& jobs, int64_t now_ms, bool wide);

// NAME STATE REPLICAS RESTARTS AGE (+ REASON PRIORITY QUEUE DURATION METRICS MESSAGE when
// wide), for TrainJobs.
std::string trainjobs_table(const std::vector<protocol::JobStatus>& jobs, int64_t now_ms,
                            bool wide);

// Active over total replicas per type, in rank order: "PS 1/1 Worker 2/2".
std::string replica_summary(const protocol::JobStatus& job);

// Six significant digits: "0.8841", "1e-05", "nan".
std::string format_number(double value);

// A replica instance as a person reads it: "worker-1 #3" for the uid
// "<job>-<incarnation>-worker-1-3" (or "<job>-worker-1-3", a uid from before
// incarnations); any other uid as it is.
std::string instance_label(const std::string& job, const std::string& uid);

// "accuracy=0.5 loss=0.31", by name.
std::string format_metrics(const std::map<std::string, double>& metrics);

// The `describe job` / `describe trainjob` page: status fields, times, then the
// conditions, replicas and per-type counts when the job has them, metrics,
// manifest and events. A TrainJob's page leads with state, priority, queue and
// restarts instead of the single replica's exit code and node.
std::string describe_job(const protocol::JobStatus& job, int64_t now_ms);

// The `describe node` page, kubectl's describe node: its registration and
// heartbeat, what is allocated of what it offers, and the replicas on it: those
// `jobs` (the cluster's Jobs and TrainJobs) place there and alive, then any its
// agent reports alive that they do not (named by their job when one has the uid,
// else by the uid alone).
std::string describe_node(const protocol::NodeStatus& node,
                          const std::vector<protocol::JobStatus>& jobs, int64_t now_ms);

// The `describe queue` page (kubectl describe clusterqueue): cohort and reclaim, each
// resource's use against its quota and borrowing limit, and the queue's admitted jobs
// and waiting gangs, the latter in the order the scheduler tries them.
std::string describe_queue(const protocol::QueueStatus& queue);

}  // namespace cadre::client

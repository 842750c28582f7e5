// The stable `-o json` shapes (documented in docs/cli.md). Keys are camelCase as
// in Kubernetes; a key is only ever added, never renamed or retyped.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cadre::client {

// A time in RFC 3339, or null when the coordinator has not set it yet (0), so
// scripts can test for it.
nlohmann::json time_or_null(int64_t unix_ms);

// {name, state, address, cpus, memory, gpus, labels, allocated{cpus,memory,gpus},
//  epoch, lastHeartbeat, replicas}
nlohmann::json node_to_json(const protocol::NodeStatus& node);

// {name, namespace, kind, phase, reason, message, exitCode, node, replica, metrics, createdAt,
//  startedAt, finishedAt, restarts, priority, queue, conditions[], replicas[],
//  replicaStatuses{}}, the same shape for Jobs and TrainJobs; with `detail`, also
//  events and manifest.
nlohmann::json job_to_json(const protocol::JobStatus& job, bool detail);

// {name, cohort, quota{cpus,memory,gpus}, borrowingLimit{...}, reclaimWithinCohort,
//  used{cpus,memory,gpus}, borrowing, pending, admitted, pendingJobs[], admittedJobs[]};
//  a resource a quota or limit does not set is null (unlimited); the job lists are
//  filled only when one queue is asked for by name.
nlohmann::json queue_to_json(const protocol::QueueStatus& queue);

nlohmann::json nodes_to_json(const std::vector<protocol::NodeStatus>& nodes);
nlohmann::json queues_to_json(const std::vector<protocol::QueueStatus>& queues);
nlohmann::json jobs_to_json(const std::vector<protocol::JobStatus>& jobs);

}  // namespace cadre::client

#include "client/json_output.h"

#include <optional>

#include "client/time_format.h"

namespace cadre::client {

nlohmann::json time_or_null(int64_t unix_ms) {
  if (unix_ms <= 0) return nullptr;
  return rfc3339(unix_ms);
}

namespace {

double cores(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

nlohmann::json exit_code_or_null(const std::optional<int32_t>& exit_code) {
  return exit_code ? nlohmann::json(*exit_code) : nlohmann::json(nullptr);
}

nlohmann::json condition_to_json(const protocol::JobCondition& condition) {
  return {
      {"type", protocol::to_string(condition.type)},
      {"status", protocol::to_string(condition.status)},
      {"reason", condition.reason},
      {"message", condition.message},
      {"lastTransitionTime", time_or_null(condition.last_transition_ms)},
  };
}

nlohmann::json replica_to_json(const protocol::ReplicaStatus& replica) {
  return {
      {"name", replica.name},
      {"type", replica.type},
      {"index", replica.index},
      {"rank", replica.rank},
      {"uid", replica.uid},
      {"state", protocol::to_string(replica.state)},
      {"node", replica.node},
      {"address", replica.address},
      {"port", replica.port},
      {"gpuIndices", replica.gpu_indices},
      {"epoch", replica.epoch},
      {"exitCode", exit_code_or_null(replica.exit_code)},
      {"reason", replica.reason},
      {"restarts", replica.restarts},
      {"startedAt", time_or_null(replica.started_ms)},
  };
}

nlohmann::json amounts_to_json(const protocol::ResourceAmounts& amounts) {
  auto or_null = [](const auto& value, auto convert) {
    return value ? nlohmann::json(convert(*value)) : nlohmann::json(nullptr);
  };
  auto same = [](auto v) { return v; };
  return {{"cpus", or_null(amounts.cpu_millis, cores)},
          {"memory", or_null(amounts.memory_bytes, same)},
          {"gpus", or_null(amounts.gpus, same)}};
}

}  // namespace

nlohmann::json queue_to_json(const protocol::QueueStatus& queue) {
  return {
      {"name", queue.name},
      {"cohort", queue.cohort},
      {"quota", amounts_to_json(queue.quota)},
      {"borrowingLimit", amounts_to_json(queue.borrowing_limit)},
      {"reclaimWithinCohort", queue.reclaim},
      {"used",
       {{"cpus", cores(queue.used_cpu_millis)},
        {"memory", queue.used_memory_bytes},
        {"gpus", queue.used_gpus}}},
      {"borrowing", queue.borrowing},
      {"pending", queue.pending},
      {"admitted", queue.admitted},
      {"pendingJobs", queue.pending_jobs},
      {"admittedJobs", queue.admitted_jobs},
  };
}

nlohmann::json queues_to_json(const std::vector<protocol::QueueStatus>& queues) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& queue : queues) out.push_back(queue_to_json(queue));
  return out;
}

nlohmann::json node_to_json(const protocol::NodeStatus& node) {
  return {
      {"name", node.name},
      {"state", protocol::to_string(node.state)},
      {"unschedulable", node.cordoned},
      {"address", node.address},
      {"cpus", cores(node.cpu_millis)},
      {"memory", node.memory_bytes},
      {"gpus", node.gpus},
      {"gpuModels", node.gpu_models},
      {"labels", node.labels},
      {"allocated",
       {{"cpus", cores(node.allocated_cpu_millis)},
        {"memory", node.allocated_memory_bytes},
        {"gpus", node.allocated_gpus}}},
      {"epoch", node.epoch},
      {"lastHeartbeat", time_or_null(node.last_heartbeat_ms)},
      {"replicas", node.replicas},
  };
}

nlohmann::json job_to_json(const protocol::JobStatus& job, bool detail) {
  nlohmann::json out = {
      {"name", job.name},
      {"namespace", job.ns},
      {"kind", job.kind},
      {"phase", protocol::to_string(job.phase)},
      {"reason", job.reason},
      {"message", job.message},
      {"exitCode", exit_code_or_null(job.exit_code)},
      {"node", job.node},
      {"replica", job.replica},
      {"metrics", job.metrics},
      {"createdAt", time_or_null(job.created_ms)},
      {"startedAt", time_or_null(job.started_ms)},
      {"finishedAt", time_or_null(job.finished_ms)},
      {"restarts", job.restarts},
      {"priority", job.priority},
      {"queue", job.queue},
      {"owner", job.owner},
  };
  nlohmann::json conditions = nlohmann::json::array();
  for (const auto& condition : job.conditions) conditions.push_back(condition_to_json(condition));
  out["conditions"] = std::move(conditions);
  nlohmann::json replicas = nlohmann::json::array();
  for (const auto& replica : job.replicas) replicas.push_back(replica_to_json(replica));
  out["replicas"] = std::move(replicas);
  // Kubeflow's replicaStatuses: replica type -> counts; an object even when empty.
  nlohmann::json replica_statuses = nlohmann::json::object();
  for (const auto& [type, counts] : job.replica_statuses) {
    replica_statuses[type] = {
        {"active", counts.active}, {"succeeded", counts.succeeded}, {"failed", counts.failed}};
  }
  out["replicaStatuses"] = std::move(replica_statuses);
  if (detail) {
    nlohmann::json events = nlohmann::json::array();
    for (const protocol::JobEvent& event : job.events) {
      events.push_back({{"time", time_or_null(event.time_ms)},
                        {"type", protocol::to_string(event.type)},
                        {"reason", event.reason},
                        {"message", event.message}});
    }
    out["events"] = std::move(events);
    out["manifest"] = job.manifest;
  }
  return out;
}

nlohmann::json nodes_to_json(const std::vector<protocol::NodeStatus>& nodes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& node : nodes) out.push_back(node_to_json(node));
  return out;
}

nlohmann::json jobs_to_json(const std::vector<protocol::JobStatus>& jobs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& job : jobs) out.push_back(job_to_json(job, false));
  return out;
}

}  // namespace cadre::client

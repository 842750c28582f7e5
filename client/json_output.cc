#include "client/json_output.h"

#include "client/time_format.h"

namespace cadre::client {
namespace {

// Times the coordinator has not set yet (0) are null, so scripts can test for them.
nlohmann::json time_or_null(int64_t unix_ms) {
  if (unix_ms <= 0) return nullptr;
  return rfc3339(unix_ms);
}

double cores(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

}  // namespace

nlohmann::json node_to_json(const protocol::NodeStatus& node) {
  return {
      {"name", node.name},
      {"state", node.state},
      {"address", node.address},
      {"cpus", cores(node.cpu_millis)},
      {"memory", node.memory_bytes},
      {"gpus", node.gpus},
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
      {"kind", job.kind},
      {"phase", job.phase},
      {"reason", job.reason},
      {"message", job.message},
      {"exitCode", job.exit_code ? nlohmann::json(*job.exit_code) : nlohmann::json(nullptr)},
      {"node", job.node},
      {"replica", job.replica},
      {"metrics", job.metrics},
      {"createdAt", time_or_null(job.created_ms)},
      {"startedAt", time_or_null(job.started_ms)},
      {"finishedAt", time_or_null(job.finished_ms)},
  };
  if (detail) {
    nlohmann::json events = nlohmann::json::array();
    for (const protocol::JobEvent& event : job.events) {
      events.push_back({{"time", time_or_null(event.time_ms)},
                        {"type", event.type},
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

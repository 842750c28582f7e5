// The agent's Prometheus metrics (GET /metrics on --metrics-port, behind a bearer
// token): per replica its CPU time, memory and processes (agent/replica_usage.h),
// per GPU its utilisation and memory (agent/gpu_stats.h), read when scraped.
//
// Threading: the agent's loop publishes which replicas run (publish) whenever that
// changes; a scrape renders on the metrics endpoint's thread from the last list it
// published. One mutex guards the list; files are read outside it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/gpu_stats.h"
#include "agent/replica_cgroups.h"

namespace cadre::agent {

// A running replica as the scrape sees it.
struct ReplicaRef {
  std::string uid;
  std::string job;
  std::string ns;
  std::string replica;                   // "worker-1"
  pid_t pid = 0;                         // it leads its process group
  std::vector<std::string> cgroup_dirs;  // empty: no cgroup, read /proc
};

struct AgentMetricsOptions {
  std::string node;
  std::optional<CgroupVersion> cgroups;  // nullopt: replicas have none
  GpuStatsOptions gpus;
  std::string proc_root = "/proc";
};

class AgentMetrics {
 public:
  explicit AgentMetrics(AgentMetricsOptions options);
  void publish(std::vector<ReplicaRef> replicas);
  // The exposition text: every published replica's usage now, and the GPUs.
  std::string render();

 private:
  AgentMetricsOptions options_;
  GpuStatsReader gpus_;
  std::mutex mutex_;
  std::vector<ReplicaRef> replicas_;  // under mutex_
};

}  // namespace cadre::agent

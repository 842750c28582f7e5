#include "agent/agent_metrics.h"

#include <map>
#include <set>

#include "agent/replica_usage.h"
#include "protocol/prometheus_text.h"

namespace cadre::agent {

namespace {

// A replica's cgroup when it has one with accounting; its process group otherwise.
std::map<std::string, ReplicaUsage> measure(const AgentMetricsOptions& options,
                                            const std::vector<ReplicaRef>& replicas) {
  std::map<std::string, ReplicaUsage> usage;
  std::set<pid_t> by_process;
  for (const auto& r : replicas) {
    if (options.cgroups && !r.cgroup_dirs.empty()) {
      if (auto u = cgroup_usage(*options.cgroups, r.cgroup_dirs); u.ok()) {
        usage[r.uid] = *u;
        continue;
      }
    }
    by_process.insert(r.pid);
  }
  const auto groups = process_group_usage(by_process, options.proc_root);
  for (const auto& r : replicas) {
    if (usage.count(r.uid) != 0) continue;
    if (auto it = groups.find(r.pid); it != groups.end()) usage[r.uid] = it->second;
  }
  return usage;
}

void write_replicas(protocol::PrometheusText& out, const std::vector<ReplicaRef>& replicas,
                    const std::map<std::string, ReplicaUsage>& usage) {
  out.family("cadre_agent_replicas", "gauge", "Replicas running on this node.");
  out.sample("cadre_agent_replicas", {}, static_cast<double>(replicas.size()));
  const auto labels = [](const ReplicaRef& r) -> protocol::PrometheusText::Labels {
    // `job_name`, not `job`: Prometheus gives every scraped series the scrape
    // job's `job` label (and would rename this one exported_job).
    return {{"namespace", r.ns}, {"job_name", r.job}, {"replica", r.replica}, {"uid", r.uid}};
  };
  // One family at a time: the exposition format wants each family's samples together.
  const auto family = [&](const char* name, const char* type, const char* help,
                          double (*value)(const ReplicaUsage&)) {
    out.family(name, type, help);
    for (const auto& r : replicas) {
      if (auto it = usage.find(r.uid); it != usage.end())
        out.sample(name, labels(r), value(it->second));
    }
  };
  family("cadre_agent_replica_cpu_seconds_total", "counter",
         "CPU time (user and system) a replica has used since it started.",
         [](const ReplicaUsage& u) { return u.cpu_seconds; });
  family("cadre_agent_replica_memory_bytes", "gauge",
         "Memory a replica uses now (its cgroup's count, or resident memory).",
         [](const ReplicaUsage& u) { return static_cast<double>(u.memory_bytes); });
  family("cadre_agent_replica_processes", "gauge", "Processes of a replica alive now.",
         [](const ReplicaUsage& u) { return static_cast<double>(u.processes); });
}

void write_gpus(protocol::PrometheusText& out, const std::vector<GpuStats>& gpus,
                uint64_t query_failures) {
  const auto gpu = [](const GpuStats& g) -> protocol::PrometheusText::Labels {
    return {{"gpu", std::to_string(g.index)}, {"model", g.name}};
  };
  out.family("cadre_agent_gpu_utilization_ratio", "gauge",
             "How busy a GPU was over nvidia-smi's last sample period, 0 to 1.");
  for (const auto& g : gpus)
    out.sample("cadre_agent_gpu_utilization_ratio", gpu(g), g.utilization_percent / 100);
  out.family("cadre_agent_gpu_memory_used_bytes", "gauge", "GPU memory in use.");
  for (const auto& g : gpus)
    out.sample("cadre_agent_gpu_memory_used_bytes", gpu(g),
               static_cast<double>(g.memory_used_bytes));
  out.family("cadre_agent_gpu_memory_total_bytes", "gauge", "GPU memory in all.");
  for (const auto& g : gpus)
    out.sample("cadre_agent_gpu_memory_total_bytes", gpu(g),
               static_cast<double>(g.memory_total_bytes));
  out.family("cadre_agent_gpu_query_failures_total", "counter",
             "nvidia-smi queries that failed or timed out (a node without it counts none).");
  out.sample("cadre_agent_gpu_query_failures_total", {}, static_cast<double>(query_failures));
}

}  // namespace

AgentMetrics::AgentMetrics(AgentMetricsOptions options)
    : options_(std::move(options)), gpus_(options_.gpus) {}

void AgentMetrics::publish(std::vector<ReplicaRef> replicas) {
  std::lock_guard<std::mutex> lock(mutex_);
  replicas_ = std::move(replicas);
}

std::string AgentMetrics::render() {
  std::vector<ReplicaRef> replicas;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    replicas = replicas_;
  }
  protocol::PrometheusText out;
  out.family("cadre_agent_info", "gauge", "This agent: its node name.");
  out.sample("cadre_agent_info", {{"node", options_.node}}, 1);
  write_replicas(out, replicas, measure(options_, replicas));
  const auto gpus = gpus_.read();  // before failures(): this read's failure counts
  write_gpus(out, gpus, gpus_.failures());
  return out.str();
}

}  // namespace cadre::agent

#include "actors/queue_status.h"

#include <set>

namespace cadre::actors {
namespace {

protocol::ResourceAmounts amounts_of(const ResourceLimits& limits) {
  return {limits.cpu_millis, limits.memory_bytes, limits.gpus};
}

}  // namespace

std::vector<protocol::QueueStatus> queue_statuses(const Scheduler& scheduler,
                                                  const std::map<std::string, int32_t>& pending) {
  std::set<std::string> names;
  for (const auto& [queue, quota] : scheduler.quotas()) names.insert(queue);
  for (const auto& [queue, count] : pending) names.insert(queue);
  for (const auto& queue : scheduler.queues_in_use()) names.insert(queue);
  std::vector<protocol::QueueStatus> out;
  names.erase("");
  for (const auto& name : names) {
    protocol::QueueStatus status;
    status.name = name;
    if (auto quota = scheduler.quotas().find(name); quota != scheduler.quotas().end()) {
      status.cohort = quota->second.cohort;
      status.quota = amounts_of(quota->second);
      status.borrowing_limit = amounts_of(quota->second.borrowing_limit);
      if (!status.cohort.empty()) status.reclaim = to_string(quota->second.reclaim);
    }
    const spec::ResourceRequest used = scheduler.used_by_queue(name);
    status.used_cpu_millis = used.cpu_millis;
    status.used_memory_bytes = used.memory_bytes;
    status.used_gpus = used.gpus;
    status.borrowing = scheduler.borrows(name);
    auto waiting = pending.find(name);
    status.pending = waiting == pending.end() ? 0 : waiting->second;
    status.admitted = static_cast<int32_t>(scheduler.admitted_in(name));
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace cadre::actors

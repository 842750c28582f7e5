#include "actors/queue_status.h"

#include <set>

namespace cadre::actors {
namespace {

protocol::ResourceAmounts amounts_of(const ResourceLimits& limits) {
  return {limits.cpu_millis, limits.memory_bytes, limits.gpus};
}

}  // namespace

std::vector<protocol::QueueStatus> queue_statuses(const Scheduler& scheduler,
                                                  const std::vector<WaitingGang>& waiting,
                                                  const std::string& only) {
  std::map<std::string, int32_t> pending;
  for (const auto& gang : waiting) ++pending[gang.queue];
  std::set<std::string> names;
  for (const auto& [queue, quota] : scheduler.quotas()) names.insert(queue);
  for (const auto& [queue, count] : pending) names.insert(queue);
  for (const auto& queue : scheduler.queues_in_use()) names.insert(queue);
  names.erase("");
  if (!only.empty())
    names = names.count(only) ? std::set<std::string>{only} : std::set<std::string>{};
  std::vector<protocol::QueueStatus> out;
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
    auto count = pending.find(name);
    status.pending = count == pending.end() ? 0 : count->second;
    const std::vector<std::string> admitted = scheduler.admitted_in(name);
    status.admitted = static_cast<int32_t>(admitted.size());
    if (!only.empty()) {
      for (const auto& gang : waiting) {
        if (status.pending_jobs.size() == protocol::kMaxQueueJobsListed) break;
        if (gang.queue == name) status.pending_jobs.push_back(gang.job);
      }
      status.admitted_jobs.assign(
          admitted.begin(),
          admitted.begin() + static_cast<std::ptrdiff_t>(
                                 std::min(admitted.size(), protocol::kMaxQueueJobsListed)));
    }
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace cadre::actors

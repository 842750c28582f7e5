// Queue quotas and cohorts (Kueue's ClusterQueue nominalQuota, cohort, borrowingLimit):
// what a queue's placed gangs may hold, and why a gang waits or never fits for its
// queue. Part of Scheduler (scheduler.h).
#include <algorithm>

#include "actors/scheduler.h"
#include "protocol/states.h"

namespace cadre::actors {
namespace {

// One resource of a limit, set only where both `a` and `b` set it: a + b.
template <typename T>
std::optional<T> sum_where_set(const std::optional<T>& a, const std::optional<T>& b) {
  return a && b ? std::optional<T>(*a + *b) : std::nullopt;
}

std::string job_of(const std::string& key) { return key.substr(0, key.find('/')); }

}  // namespace

spec::ResourceRequest Scheduler::used_by_queue(const std::string& queue) const {
  auto it = queue_use_.find(queue);
  return it == queue_use_.end() ? spec::ResourceRequest{} : it->second.used;
}

std::vector<std::string> Scheduler::admitted_in(const std::string& queue) const {
  std::set<std::string> jobs;
  for (const auto& [key, held] : held_) {
    if (held.queue == queue) jobs.insert(job_of(key));
  }
  return {jobs.begin(), jobs.end()};
}

std::set<std::string> Scheduler::queues_in_use() const {
  std::set<std::string> queues;
  for (const auto& [queue, use] : queue_use_) queues.insert(queue);
  return queues;
}

std::string Scheduler::queue_of(const std::string& job) const {
  const std::string prefix = job + "/";
  auto it = held_.lower_bound(prefix);
  if (it == held_.end() || it->first.compare(0, prefix.size(), prefix) != 0) return "";
  return it->second.queue;
}

bool Scheduler::shares_cohort(const std::string& a, const std::string& b) const {
  auto x = quotas_.find(a), y = quotas_.find(b);
  return x != quotas_.end() && y != quotas_.end() && !x->second.cohort.empty() &&
         x->second.cohort == y->second.cohort;
}

bool Scheduler::borrows(const std::string& queue) const {
  auto it = quotas_.find(queue);
  return it != quotas_.end() && !it->second.cohort.empty() &&
         it->second.exceeded_by(used_by_queue(queue));
}

ResourceLimits Scheduler::ceiling_of(const QueueQuota& quota) {
  if (quota.cohort.empty()) return quota;
  const ResourceLimits& borrow = quota.borrowing_limit;
  return ResourceLimits{sum_where_set(quota.cpu_millis, borrow.cpu_millis),
                        sum_where_set(quota.memory_bytes, borrow.memory_bytes),
                        sum_where_set(quota.gpus, borrow.gpus)};
}

Scheduler::Cohort Scheduler::cohort_of(const QueueQuota& quota) const {
  Cohort cohort;
  if (quota.cpu_millis) cohort.quota.cpu_millis = 0;
  if (quota.memory_bytes) cohort.quota.memory_bytes = 0;
  if (quota.gpus) cohort.quota.gpus = 0;
  for (const auto& [queue, member] : quotas_) {
    if (member.cohort != quota.cohort) continue;
    const spec::ResourceRequest used = used_by_queue(queue);
    // A member without a quota of some resource neither lends nor counts in it.
    if (quota.cpu_millis && member.cpu_millis) {
      *cohort.quota.cpu_millis += *member.cpu_millis;
      cohort.used.cpu_millis += used.cpu_millis;
    }
    if (quota.memory_bytes && member.memory_bytes) {
      *cohort.quota.memory_bytes += *member.memory_bytes;
      cohort.used.memory_bytes += used.memory_bytes;
    }
    if (quota.gpus && member.gpus) {
      *cohort.quota.gpus += *member.gpus;
      cohort.used.gpus += used.gpus;
    }
  }
  return cohort;
}

// Kueue's admission: within the queue's quota plus its borrowing limit, and within
// what the cohort's quotas leave unused. A queue's own quota lent to a borrower is
// not free for it until the borrower's gangs end (or reclaim=Any stops them).
bool Scheduler::over_quota(const GangRequest& gang) const {
  auto it = quotas_.find(gang.queue);
  if (it == quotas_.end()) return false;
  const QueueQuota& quota = it->second;
  const spec::ResourceRequest want = total_of(gang);
  if (!ceiling_of(quota).admits(used_by_queue(gang.queue), want)) return true;
  if (quota.cohort.empty()) return false;
  const Cohort cohort = cohort_of(quota);
  return !cohort.quota.admits(cohort.used, want);
}

std::optional<NeverFits> Scheduler::never_fits_quota(const GangRequest& gang) const {
  auto it = quotas_.find(gang.queue);
  if (it == quotas_.end()) return std::nullopt;
  const QueueQuota& quota = it->second;
  const spec::ResourceRequest want = total_of(gang);
  const std::string needs = "the gang of " + std::to_string(gang.members.size()) +
                            " replicas needs " + resources_of(want) + " in total; ";
  if (!ceiling_of(quota).admits({}, want)) {
    const std::string borrowing =
        quota.borrowing_limit.empty()
            ? ""
            : " and it borrows at most " + to_string(quota.borrowing_limit) + " more";
    return NeverFits{protocol::reason::kUnschedulable,
                     needs + "queue " + gang.queue + "'s quota is " + to_string(quota) + borrowing};
  }
  if (quota.cohort.empty()) return std::nullopt;
  const Cohort cohort = cohort_of(quota);
  if (!cohort.quota.admits({}, want)) {
    return NeverFits{protocol::reason::kUnschedulable, needs + "the quotas of cohort " +
                                                           quota.cohort + ", queue " + gang.queue +
                                                           "'s and those it borrows from, are " +
                                                           to_string(cohort.quota) + " together"};
  }
  return std::nullopt;
}

std::string Scheduler::why_over_quota(const GangRequest& gang) const {
  const QueueQuota& quota = quotas_.at(gang.queue);
  const spec::ResourceRequest want = total_of(gang), used = used_by_queue(gang.queue);
  const std::string holds =
      "its placed gangs hold " + resources_of(used) + "; this gang needs " + resources_of(want);
  if (quota.cohort.empty()) {
    return "waiting for room in queue " + gang.queue + "'s quota (" + to_string(quota) +
           "): " + holds;
  }
  if (!ceiling_of(quota).admits(used, want)) {
    return "waiting for room in queue " + gang.queue + "'s quota (" + to_string(quota) +
           ", borrowing at most " + to_string(quota.borrowing_limit) + " more from cohort " +
           quota.cohort + "): " + holds;
  }
  const Cohort cohort = cohort_of(quota);
  return "waiting for room in cohort " + quota.cohort + ": the placed gangs of its queues hold " +
         resources_of(cohort.used) + " of their quotas' " + to_string(cohort.quota) + " (queue " +
         gang.queue + "'s own quota is " + to_string(quota) + "); this gang needs " +
         resources_of(want);
}

std::set<std::string> Scheduler::reclaimable_queues(const GangRequest& gang) const {
  auto it = quotas_.find(gang.queue);
  if (it == quotas_.end()) return {};
  const QueueQuota& quota = it->second;
  if (quota.cohort.empty() || quota.reclaim != ReclaimPolicy::kAny ||
      !quota.admits(used_by_queue(gang.queue), total_of(gang))) {
    return {};
  }
  std::set<std::string> queues;
  for (const auto& [queue, member] : quotas_) {
    if (queue != gang.queue && member.cohort == quota.cohort && borrows(queue)) {
      queues.insert(queue);
    }
  }
  return queues;
}

}  // namespace cadre::actors

// A queue's quota, as Kueue's ClusterQueue: what the placed gangs of one
// schedulingPolicy.queue may hold together across the cluster (nominalQuota), and,
// for a queue in a cohort, how much of the other cohort queues' unused quota it may
// borrow (borrowingLimit) and whether it takes its own back from borrowers
// (preemption.reclaimWithinCohort). Declared in the coordinator's config
// (--queue-quota); a queue without one is unlimited.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "protocol/spec/job_spec.h"
#include "protocol/status.h"

namespace cadre::actors {

// An amount of each resource; an unset one is unlimited.
struct ResourceLimits {
  std::optional<int64_t> cpu_millis;
  std::optional<int64_t> memory_bytes;
  std::optional<int32_t> gpus;

  // Whether `used` plus `more` stays within every resource set here.
  bool admits(const spec::ResourceRequest& used, const spec::ResourceRequest& more) const;
  // Whether `used` is past any resource set here.
  bool exceeded_by(const spec::ResourceRequest& used) const;
  bool empty() const { return !cpu_millis && !memory_bytes && !gpus; }
};

// How a queue within its own quota gets back what cohort queues borrowed from it.
enum class ReclaimPolicy {
  // As preemption does anyway: only gangs of strictly lower priority are stopped.
  kLowerPriority,
  // Any borrowing gang of another cohort queue, whatever its priority (Kueue's Any).
  kAny,
};

struct QueueQuota : ResourceLimits {  // the nominal quota
  // Queues that share one cohort lend each other what they leave unused.
  std::string cohort;
  // How far past its own quota the queue may borrow; an unset resource is bounded
  // only by what the cohort leaves unused. Only with a cohort.
  ResourceLimits borrowing_limit;
  ReclaimPolicy reclaim = ReclaimPolicy::kLowerPriority;
};

// At most this many --queue-quota entries: with each amount bounded (cpu by its
// parser, memory at 1 PiB, gpu at a million), a cohort's sums cannot overflow.
inline constexpr size_t kMaxQueueQuotas = 1000;

// Every queue's quota, by queue name.
using QueueQuotas = std::map<std::string, QueueQuota>;

// "research:cpu=16,memory=64Gi,gpu=4,cohort=lab,borrow-gpu=2,reclaim=Any", as
// --queue-quota takes it: a DNS-label queue name, then any of cpu, memory and gpu,
// and optionally a cohort (a DNS label), borrowing limits (borrow-cpu, borrow-memory,
// borrow-gpu) and reclaim (LowerPriority or Any). Errors name the part that is wrong.
Result<std::pair<std::string, QueueQuota>> parse_queue_quota(const std::string& text);

// "cpu=16 memory=64Gi gpu=4", the resources it sets.
std::string to_string(const ResourceLimits& limits);
const char* to_string(ReclaimPolicy policy);

}  // namespace cadre::actors

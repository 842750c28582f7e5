// A queue's quota, as Kueue's ClusterQueue nominalQuota: what the placed gangs of one
// schedulingPolicy.queue may hold together across the cluster. Declared in the
// coordinator's config (--queue-quota); a queue without one is unlimited.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "protocol/spec/job_spec.h"
#include "protocol/status.h"

namespace cadre::actors {

struct QueueQuota {
  std::optional<int64_t> cpu_millis;  // unset: unlimited
  std::optional<int64_t> memory_bytes;
  std::optional<int32_t> gpus;

  // Whether `used` plus `more` stays within every resource the quota sets.
  bool admits(const spec::ResourceRequest& used, const spec::ResourceRequest& more) const;
};

// "research:cpu=16,memory=64Gi,gpu=4", as --queue-quota takes it: a DNS-label
// queue name, then any of cpu, memory and gpu. Errors name the part that is wrong.
Result<std::pair<std::string, QueueQuota>> parse_queue_quota(const std::string& text);

// "cpu=16 memory=64Gi gpu=4", the resources it sets.
std::string to_string(const QueueQuota& quota);

}  // namespace cadre::actors

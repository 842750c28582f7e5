#include "actors/queue_quota.h"

#include <charconv>

#include "protocol/spec/quantity.h"
#include "protocol/spec/yaml_reader.h"

namespace cadre::actors {
namespace {

// Larger than any cluster, and small enough that a cohort of kMaxQueueQuotas queues
// sums its quotas and borrowing limits without overflowing.
constexpr int64_t kMaxQuotaMemory = int64_t{1} << 50;  // 1 PiB
constexpr int32_t kMaxQuotaGpus = 1000000;

// Sets one resource of `limits` from "cpu", "memory" or "gpu" and its amount.
Status set_resource(ResourceLimits& limits, const std::string& resource, const std::string& value,
                    const std::string& where) {
  if (resource == "cpu") {
    if (limits.cpu_millis) return InvalidArgument(where + " is given twice");
    auto cpu = spec::parse_cpu_millis(value);
    if (!cpu.ok()) return cpu.status().annotate(where);
    limits.cpu_millis = *cpu;
  } else if (resource == "memory") {
    if (limits.memory_bytes) return InvalidArgument(where + " is given twice");
    auto memory = spec::parse_memory_bytes(value);
    if (!memory.ok()) return memory.status().annotate(where);
    if (*memory > kMaxQuotaMemory) return InvalidArgument(where + " '" + value + "' is over 1Pi");
    limits.memory_bytes = *memory;
  } else {
    if (limits.gpus) return InvalidArgument(where + " is given twice");
    int32_t gpus = -1;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), gpus);
    if (ec != std::errc() || end != value.data() + value.size() || gpus < 0) {
      return InvalidArgument(where + " '" + value + "' is not a whole number of devices");
    }
    if (gpus > kMaxQuotaGpus) {
      return InvalidArgument(where + " '" + value + "' is over " + std::to_string(kMaxQuotaGpus));
    }
    limits.gpus = gpus;
  }
  return Status::Ok();
}

// A borrowing limit needs the nominal amount it goes past.
Status check_borrowing(const QueueQuota& quota, const std::string& where) {
  if (quota.borrowing_limit.empty() && quota.reclaim == ReclaimPolicy::kLowerPriority) {
    return Status::Ok();
  }
  if (quota.cohort.empty()) {
    return InvalidArgument(where + ": borrowing limits and reclaim need a cohort (cohort=NAME)");
  }
  const auto& b = quota.borrowing_limit;
  if ((b.cpu_millis && !quota.cpu_millis) || (b.memory_bytes && !quota.memory_bytes) ||
      (b.gpus && !quota.gpus)) {
    const char* resource = b.cpu_millis && !quota.cpu_millis       ? "cpu"
                           : b.memory_bytes && !quota.memory_bytes ? "memory"
                                                                   : "gpu";
    return InvalidArgument(where + ": borrow-" + resource + " needs a quota of " + resource +
                           " to borrow past");
  }
  return Status::Ok();
}

}  // namespace

bool ResourceLimits::admits(const spec::ResourceRequest& used,
                            const spec::ResourceRequest& more) const {
  return (!cpu_millis || used.cpu_millis + more.cpu_millis <= *cpu_millis) &&
         (!memory_bytes || used.memory_bytes + more.memory_bytes <= *memory_bytes) &&
         (!gpus || used.gpus + more.gpus <= *gpus);
}

bool ResourceLimits::exceeded_by(const spec::ResourceRequest& used) const {
  return !admits(used, {});
}

Result<std::pair<std::string, QueueQuota>> parse_queue_quota(const std::string& text) {
  const auto colon = text.find(':');
  const std::string name = text.substr(0, colon);
  const std::string where = "queue-quota '" + text + "'";
  if (colon == std::string::npos || !spec::is_dns_label(name)) {
    return InvalidArgument(where + ": must be QUEUE:cpu=N,memory=Q,gpu=N with QUEUE a DNS label");
  }
  QueueQuota quota;
  bool reclaim_seen = false;
  std::string rest = text.substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string part = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    const auto eq = part.find('=');
    const std::string key = part.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (eq == std::string::npos || value.empty()) {
      return InvalidArgument(where + ": '" + part + "' is not KEY=VALUE");
    }
    if (key == "cpu" || key == "memory" || key == "gpu") {
      RETURN_IF_ERROR(set_resource(quota, key, value, where + ": " + key));
    } else if (key == "borrow-cpu" || key == "borrow-memory" || key == "borrow-gpu") {
      RETURN_IF_ERROR(
          set_resource(quota.borrowing_limit, key.substr(7), value, where + ": " + key));
    } else if (key == "cohort") {
      if (!quota.cohort.empty()) return InvalidArgument(where + ": cohort is given twice");
      if (!spec::is_dns_label(value)) {
        return InvalidArgument(where + ": cohort '" + value + "' is not a DNS label");
      }
      quota.cohort = value;
    } else if (key == "reclaim") {
      if (reclaim_seen) return InvalidArgument(where + ": reclaim is given twice");
      reclaim_seen = true;
      if (value == "Any") {
        quota.reclaim = ReclaimPolicy::kAny;
      } else if (value != "LowerPriority") {
        return InvalidArgument(where + ": reclaim '" + value + "' is not LowerPriority or Any");
      }
    } else {
      return InvalidArgument(where + ": '" + key +
                             "' is not one of cpu, memory, gpu, cohort, borrow-cpu, "
                             "borrow-memory, borrow-gpu, reclaim");
    }
  }
  if (static_cast<const ResourceLimits&>(quota).empty()) {
    return InvalidArgument(where + ": names no resource (cpu, memory or gpu)");
  }
  RETURN_IF_ERROR(check_borrowing(quota, where));
  return std::make_pair(name, quota);
}

std::string to_string(const ResourceLimits& limits) {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  if (limits.cpu_millis) add("cpu=" + spec::format_cpu(*limits.cpu_millis));
  if (limits.memory_bytes) add("memory=" + spec::format_memory(*limits.memory_bytes));
  if (limits.gpus) add("gpu=" + std::to_string(*limits.gpus));
  return out;
}

const char* to_string(ReclaimPolicy policy) {
  return policy == ReclaimPolicy::kAny ? "Any" : "LowerPriority";
}

}  // namespace cadre::actors

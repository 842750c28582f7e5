// libFuzzer target for the coordinator's --queue-quota entries (actors/queue_quota.h):
// any text must parse or be refused, never crash; what parses names a DNS-label
// queue, sets some resource within bounds, borrows only within a cohort and past a quota it has,
// and reads back the same from its canonical form.
#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/queue_quota.h"
#include "protocol/spec/yaml_reader.h"

namespace {

using cadre::actors::QueueQuota;
using cadre::actors::ResourceLimits;

void append(std::string& out, const std::string& prefix, const ResourceLimits& limits) {
  if (limits.cpu_millis) out += "," + prefix + "cpu=" + std::to_string(*limits.cpu_millis) + "m";
  if (limits.memory_bytes) {
    out += "," + prefix + "memory=" + std::to_string(*limits.memory_bytes);
  }
  if (limits.gpus) out += "," + prefix + "gpu=" + std::to_string(*limits.gpus);
}

// The entry that says the same in one spelling: millicores, bytes, every key once.
std::string canonical(const std::string& name, const QueueQuota& quota) {
  std::string out = name + ":";
  append(out, "", quota);
  if (!quota.cohort.empty()) out += ",cohort=" + quota.cohort;
  append(out, "borrow-", quota.borrowing_limit);
  if (!quota.cohort.empty()) out += std::string(",reclaim=") + to_string(quota.reclaim);
  out.erase(name.size() + 1, 1);  // the comma after the colon
  return out;
}

bool same(const ResourceLimits& a, const ResourceLimits& b) {
  return a.cpu_millis == b.cpu_millis && a.memory_bytes == b.memory_bytes && a.gpus == b.gpus;
}

// Non-negative, and within the bounds that keep a cohort's sums from overflowing.
bool in_bounds(const ResourceLimits& l) {
  return (!l.cpu_millis || (*l.cpu_millis >= 0 && *l.cpu_millis <= 1000000000000)) &&
         (!l.memory_bytes || (*l.memory_bytes >= 0 && *l.memory_bytes <= (int64_t{1} << 50))) &&
         (!l.gpus || (*l.gpus >= 0 && *l.gpus <= 1000000));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = cadre::actors::parse_queue_quota(text);
  if (!parsed.ok()) {
    if (parsed.status().message().empty()) __builtin_trap();
    return 0;
  }
  const auto& [name, quota] = *parsed;
  if (!cadre::spec::is_dns_label(name)) __builtin_trap();
  if (static_cast<const ResourceLimits&>(quota).empty()) __builtin_trap();
  if (!in_bounds(quota) || !in_bounds(quota.borrowing_limit)) __builtin_trap();
  const ResourceLimits& b = quota.borrowing_limit;
  if (quota.cohort.empty() &&
      (!b.empty() || quota.reclaim != cadre::actors::ReclaimPolicy::kLowerPriority)) {
    __builtin_trap();
  }
  if ((b.cpu_millis && !quota.cpu_millis) || (b.memory_bytes && !quota.memory_bytes) ||
      (b.gpus && !quota.gpus)) {
    __builtin_trap();
  }
  auto again = cadre::actors::parse_queue_quota(canonical(name, quota));
  if (!again.ok() || again->first != name || !same(again->second, quota) ||
      !same(again->second.borrowing_limit, b) || again->second.cohort != quota.cohort ||
      again->second.reclaim != quota.reclaim) {
    __builtin_trap();
  }
  return 0;
}

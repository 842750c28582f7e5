#include "actors/queue_quota.h"

#include <charconv>

#include "protocol/spec/quantity.h"
#include "protocol/spec/yaml_reader.h"

namespace cadre::actors {

bool QueueQuota::admits(const spec::ResourceRequest& used,
                        const spec::ResourceRequest& more) const {
  return (!cpu_millis || used.cpu_millis + more.cpu_millis <= *cpu_millis) &&
         (!memory_bytes || used.memory_bytes + more.memory_bytes <= *memory_bytes) &&
         (!gpus || used.gpus + more.gpus <= *gpus);
}

Result<std::pair<std::string, QueueQuota>> parse_queue_quota(const std::string& text) {
  const auto colon = text.find(':');
  const std::string name = text.substr(0, colon);
  const std::string where = "queue-quota '" + text + "'";
  if (colon == std::string::npos || !spec::is_dns_label(name)) {
    return InvalidArgument(where + ": must be QUEUE:cpu=N,memory=Q,gpu=N with QUEUE a DNS label");
  }
  QueueQuota quota;
  std::string rest = text.substr(colon + 1);
  if (rest.empty()) return InvalidArgument(where + ": names no resource (cpu, memory or gpu)");
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string part = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    const auto eq = part.find('=');
    const std::string key = part.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (eq == std::string::npos || value.empty()) {
      return InvalidArgument(where + ": '" + part + "' is not RESOURCE=AMOUNT");
    }
    const bool seen = key == "cpu"      ? quota.cpu_millis.has_value()
                      : key == "memory" ? quota.memory_bytes.has_value()
                                        : key == "gpu" && quota.gpus.has_value();
    if (seen) return InvalidArgument(where + ": " + key + " is given twice");
    if (key == "cpu") {
      auto cpu = spec::parse_cpu_millis(value);
      if (!cpu.ok()) return cpu.status().annotate(where + ": cpu");
      quota.cpu_millis = *cpu;
    } else if (key == "memory") {
      auto memory = spec::parse_memory_bytes(value);
      if (!memory.ok()) return memory.status().annotate(where + ": memory");
      quota.memory_bytes = *memory;
    } else if (key == "gpu") {
      int32_t gpus = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), gpus);
      if (ec != std::errc() || end != value.data() + value.size() || gpus < 0) {
        return InvalidArgument(where + ": gpu '" + value + "' is not a whole number of devices");
      }
      quota.gpus = gpus;
    } else {
      return InvalidArgument(where + ": '" + key + "' is not one of cpu, memory, gpu");
    }
  }
  return std::make_pair(name, quota);
}

std::string to_string(const QueueQuota& quota) {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  if (quota.cpu_millis) add("cpu=" + spec::format_cpu(*quota.cpu_millis));
  if (quota.memory_bytes) add("memory=" + spec::format_memory(*quota.memory_bytes));
  if (quota.gpus) add("gpu=" + std::to_string(*quota.gpus));
  return out;
}

}  // namespace cadre::actors

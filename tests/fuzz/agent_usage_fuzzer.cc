// libFuzzer target for what the agent's /metrics parses (agent/replica_usage.h,
// agent/gpu_stats.h): the first byte picks a /proc/<pid>/stat line or nvidia-smi's
// CSV. Neither may crash, and what they accept is bounded: at most 64 GPUs with
// non-negative figures, a process with non-negative resident pages.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/gpu_stats.h"
#include "agent/replica_usage.h"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cadre::agent;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    if (auto stat = parse_proc_stat(text)) require(stat->rss_pages >= 0);
    return 0;
  }
  auto gpus = parse_gpu_stats(text);
  if (!gpus.ok()) return 0;
  require(gpus->size() <= 64);
  for (const auto& g : *gpus) {
    require(g.index >= 0 && g.utilization_percent >= 0 && g.memory_used_bytes >= 0 &&
            g.memory_total_bytes >= 0);
  }
  return 0;
}

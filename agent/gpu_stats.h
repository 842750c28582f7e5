// The node's GPUs as nvidia-smi sees them now, for the agent's /metrics:
// utilisation and memory per device. The query runs with a timeout (a wedged
// driver can hang nvidia-smi) and its answer is kept for a few seconds, so
// frequent scrapes start at most one nvidia-smi per interval.
//
// Thread-safety: GpuStatsReader::read may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace cadre::agent {

struct GpuStats {
  int32_t index = 0;
  std::string name;
  double utilization_percent = 0;
  int64_t memory_used_bytes = 0;
  int64_t memory_total_bytes = 0;
};

// Lines of `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,
// memory.total --format=csv,noheader,nounits` (memory in MiB). At most 64 GPUs
// and 512 bytes a line; a field that is not a number ("[N/A]", "[Not
// Supported]") is 0. InvalidArgument names the line that is not five fields.
Result<std::vector<GpuStats>> parse_gpu_stats(std::string_view csv);

struct GpuStatsOptions {
  std::string nvidia_smi = "nvidia-smi";
  std::chrono::seconds timeout{5};
  std::chrono::milliseconds cache{5000};
};

class GpuStatsReader {
 public:
  explicit GpuStatsReader(GpuStatsOptions options) : options_(std::move(options)) {}
  // The GPUs now (or as of at most `cache` ago); empty on a node without
  // nvidia-smi or when it fails (the failure is counted).
  std::vector<GpuStats> read();
  uint64_t failures() const;

 private:
  GpuStatsOptions options_;
  mutable std::mutex mutex_;  // one query at a time; guards the cached answer
  std::vector<GpuStats> last_;
  std::chrono::steady_clock::time_point read_at_{};
  bool read_once_ = false;
  uint64_t failures_ = 0;
};

}  // namespace cadre::agent

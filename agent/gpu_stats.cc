#include "agent/gpu_stats.h"

#include <sys/wait.h>

#include <charconv>
#include <cstdio>

namespace cadre::agent {
namespace {

constexpr size_t kMaxGpus = 64;
constexpr size_t kMaxLine = 512;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// A figure in [0, most]; anything else ("[N/A]", "inf", 1e308) reads as 0.
double number_or_zero(std::string_view text, double most) {
  text = trim(text);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool whole = error == std::errc() && end == text.data() + text.size();
  return whole && value >= 0 && value <= most ? value : 0;
}

}  // namespace

Result<std::vector<GpuStats>> parse_gpu_stats(std::string_view csv) {
  std::vector<GpuStats> gpus;
  size_t line_number = 0;
  while (!csv.empty()) {
    const size_t end = csv.find('\n');
    const std::string_view line = csv.substr(0, end);
    csv.remove_prefix(end == std::string_view::npos ? csv.size() : end + 1);
    ++line_number;
    if (trim(line).empty()) continue;
    if (line.size() > kMaxLine) {
      return InvalidArgument("nvidia-smi line " + std::to_string(line_number) + " is longer than " +
                             std::to_string(kMaxLine) + " bytes");
    }
    if (gpus.size() == kMaxGpus) {
      return InvalidArgument("nvidia-smi lists more than " + std::to_string(kMaxGpus) + " GPUs");
    }
    std::vector<std::string_view> fields;
    std::string_view rest = line;
    while (fields.size() < 6) {
      const size_t comma = rest.find(',');
      fields.push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (fields.size() != 5) {
      return InvalidArgument("nvidia-smi line " + std::to_string(line_number) +
                             " is not index, name, utilization, memory used, memory total");
    }
    GpuStats gpu;
    int32_t index = 0;
    const std::string_view index_text = trim(fields[0]);
    const auto [ptr, error] =
        std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
    if (error != std::errc() || ptr != index_text.data() + index_text.size() || index < 0) {
      return InvalidArgument("nvidia-smi line " + std::to_string(line_number) +
                             ": the index is not a number");
    }
    gpu.index = index;
    gpu.name = std::string(trim(fields[1]));
    gpu.utilization_percent = number_or_zero(fields[2], 100);
    // MiB, at most a pebibyte: no device has more, and bytes then fit int64.
    constexpr double kMiB = 1024.0 * 1024.0;
    constexpr double kMostMiB = 1024.0 * 1024.0 * 1024.0;
    gpu.memory_used_bytes = static_cast<int64_t>(number_or_zero(fields[3], kMostMiB) * kMiB);
    gpu.memory_total_bytes = static_cast<int64_t>(number_or_zero(fields[4], kMostMiB) * kMiB);
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

std::vector<GpuStats> GpuStatsReader::read() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (read_once_ && now - read_at_ < options_.cache) return last_;
  read_once_ = true;
  read_at_ = now;
  // coreutils' timeout bounds a hung nvidia-smi; the program name is the
  // operator's --nvidia-smi, never user input.
  const std::string command = "timeout -k 1 " + std::to_string(options_.timeout.count()) + " " +
                              options_.nvidia_smi +
                              " --query-gpu=index,name,utilization.gpu,memory.used,memory.total"
                              " --format=csv,noheader,nounits 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    failures_++;
    return last_ = {};
  }
  std::string out;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    if (out.size() < kMaxGpus * kMaxLine) out.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // 127: none on this node (a CPU node): not a failure worth counting.
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 127)) failures_++;
    return last_ = {};
  }
  auto parsed = parse_gpu_stats(out);
  if (!parsed.ok()) {
    failures_++;  // counted on /metrics (cadre_agent_gpu_query_failures_total)
    return last_ = {};
  }
  return last_ = std::move(*parsed);
}

uint64_t GpuStatsReader::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

}  // namespace cadre::agent

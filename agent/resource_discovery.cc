#include "agent/resource_discovery.h"

#include <sched.h>
#include <sys/wait.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

namespace cadre::agent {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Strict decimal: digits with at most one '.', nothing else.
std::optional<double> parse_plain_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int dots = 0;
  for (char c : text) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  if (dots > 1 || text == ".") return std::nullopt;
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

Result<int64_t> parse_cpu_quantity(const std::string& text) {
  const auto cores = parse_plain_number(text);
  if (!cores || *cores <= 0 || *cores > 1e6) {
    return InvalidArgument("invalid CPU count '" + text +
                           "' (expected a positive number of cores, e.g. 2 or 0.5)");
  }
  const auto millis = static_cast<int64_t>(std::llround(*cores * 1000));
  if (millis <= 0) return InvalidArgument("CPU count '" + text + "' is below one millicore");
  return millis;
}

Result<int64_t> parse_memory_quantity(const std::string& text) {
  static const std::pair<const char*, double> kSuffixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12}};
  std::string number = text;
  double scale = 1;
  for (const auto& [suffix, factor] : kSuffixes) {
    const std::string s(suffix);
    if (text.size() > s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0) {
      number = text.substr(0, text.size() - s.size());
      scale = factor;
      break;
    }
  }
  const auto value = parse_plain_number(number);
  const double bytes = value ? *value * scale : 0;
  if (!value || bytes < 1 || bytes > 9.0e18) {
    return InvalidArgument("invalid memory size '" + text +
                           "' (expected bytes or a quantity like 512Mi, 4Gi)");
  }
  return static_cast<int64_t>(bytes);
}

Result<std::optional<int32_t>> parse_gpu_count(const std::string& text) {
  if (text == "auto") return std::optional<int32_t>();
  const auto value = parse_plain_number(text);
  if (!value || text.find('.') != std::string::npos || *value > 64) {
    return InvalidArgument("invalid GPU count '" + text + "' (expected auto or 0..64)");
  }
  return std::optional<int32_t>(static_cast<int32_t>(*value));
}

int64_t detect_cpu_millis() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpus = 0;
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(std::thread::hardware_concurrency());
  return static_cast<int64_t>(std::max(cpus, 1)) * 1000;
}

Result<int64_t> detect_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, unit;
    int64_t value = 0;
    if (fields >> key >> value >> unit && key == "MemTotal:") {
      return unit == "kB" ? value * 1024 : value;
    }
  }
  return Unavailable("no MemTotal in /proc/meminfo; pass --memory");
}

GpuDevices detect_gpus(const std::string& nvidia_smi) {
  GpuDevices gpus;
  const std::string command =
      nvidia_smi + " --query-gpu=minor_number,name --format=csv,noheader 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return gpus;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    const std::string line = trim(buffer);
    const auto comma = line.find(',');
    if (line.empty() || comma == std::string::npos) continue;
    // The name may hold commas; the minor never does, so it comes first.
    const std::string minor = trim(line.substr(0, comma));
    int32_t value = static_cast<int32_t>(gpus.minors.size());
    auto [end, error] = std::from_chars(minor.data(), minor.data() + minor.size(), value);
    if (error != std::errc() || end != minor.data() + minor.size() || value < 0) {
      value = static_cast<int32_t>(gpus.minors.size());
    }
    gpus.minors.push_back(value);
    gpus.models.push_back(trim(line.substr(comma + 1)));
  }
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // 127: not installed (a CPU node); anything else: driver trouble. Either way no GPUs.
    spdlog::info("nvidia-smi unavailable or failed (status {}); reporting 0 GPUs", status);
    gpus = {};
  }
  return gpus;
}

Result<NodeResources> discover_resources(const ResourceRequest& request) {
  NodeResources resources;
  resources.cpu_millis = request.cpu_millis.value_or(detect_cpu_millis());
  if (request.memory_bytes) {
    resources.memory_bytes = *request.memory_bytes;
  } else {
    ASSIGN_OR_RETURN(resources.memory_bytes, detect_memory_bytes());
  }
  if (request.gpus) {
    resources.gpus = *request.gpus;
    for (int32_t index = 0; index < resources.gpus; ++index) resources.gpu_minors.push_back(index);
  } else {
    GpuDevices found = detect_gpus(request.nvidia_smi);
    resources.gpu_models = std::move(found.models);
    resources.gpu_minors = std::move(found.minors);
    resources.gpus = static_cast<int32_t>(resources.gpu_models.size());
  }
  return resources;
}

}  // namespace cadre::agent

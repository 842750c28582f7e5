// What this node offers to the scheduler: CPUs, memory and GPUs, either found on
// the machine or given by the operator (tests pretend to have GPUs this way).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::agent {

struct NodeResources {
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  int32_t gpus = 0;
  std::vector<std::string> gpu_models;  // one per GPU when discovered; empty when given
  // The minor number of each GPU's device file (/dev/nvidia<minor>), by index: what
  // the replica cgroups deny to replicas not given that GPU. Given counts: 0..N-1.
  std::vector<int32_t> gpu_minors;
};

// The GPUs nvidia-smi lists, in its index order (PCI bus order).
struct GpuDevices {
  std::vector<std::string> models;
  std::vector<int32_t> minors;
};

// What the operator asked for; unset fields are discovered.
struct ResourceRequest {
  std::optional<int64_t> cpu_millis;
  std::optional<int64_t> memory_bytes;
  std::optional<int32_t> gpus;  // nullopt: "auto", ask nvidia-smi
  std::string nvidia_smi = "nvidia-smi";
};

// "2", "0.5" (cores) -> millicores. Rejects zero, negatives and junk.
Result<int64_t> parse_cpu_quantity(const std::string& text);
// "1073741824", "512Mi", "4Gi", "1G", "100k" -> bytes (binary Ki/Mi/Gi/Ti, decimal
// k/M/G/T, as Kubernetes quantities). Rejects zero, negatives and junk.
Result<int64_t> parse_memory_quantity(const std::string& text);
// "auto" -> nullopt; "0".."64" -> that number.
Result<std::optional<int32_t>> parse_gpu_count(const std::string& text);

// CPUs this process may run on (sched_getaffinity), in millicores.
int64_t detect_cpu_millis();
// MemTotal from /proc/meminfo.
Result<int64_t> detect_memory_bytes();
// One line per GPU from `nvidia-smi --query-gpu=minor_number,name --format=csv,noheader`;
// none when nvidia-smi is missing or fails (a CPU node). A minor nvidia-smi cannot
// tell ("[N/A]") is taken to be the GPU's index.
GpuDevices detect_gpus(const std::string& nvidia_smi);

Result<NodeResources> discover_resources(const ResourceRequest& request);

}  // namespace cadre::agent

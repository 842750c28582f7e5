// Placement logic, free of CAF so it is unit-testable and fast: node capacities,
// what each placed replica holds, and first-fit placement over cpu/memory/gpu.
// Owned by the scheduler actor (one thread at a time).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/spec/job_spec.h"

namespace cadre::actors {

struct NodeCapacity {
  std::string name;
  uint64_t epoch = 0;
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  int32_t gpus = 0;
};

struct Placement {
  std::string uid;
  std::string node;
  uint64_t epoch = 0;
  std::vector<int32_t> gpu_indices;
};

struct Allocation {
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  std::vector<int32_t> gpu_indices;
};

class Scheduler {
 public:
  enum class Fit { kPlaced, kWait, kNever };

  // Adds a node or updates its capacity/epoch; a node is schedulable while Ready.
  void upsert_node(const NodeCapacity& node);
  void set_schedulable(const std::string& node, bool schedulable);
  size_t node_count() const { return nodes_.size(); }

  // First fit in node-name order (pack). kNever: no node, even empty, could hold it.
  Fit place(const std::string& uid, const spec::ResourceRequest& request, Placement* out);
  // Re-asserts a placement that already exists (adoption after a coordinator restart).
  void reserve(const std::string& uid, const std::string& node,
               const spec::ResourceRequest& request, const std::vector<int32_t>& gpus);
  void release(const std::string& uid);

  // Why kNever, in a sentence naming the largest node.
  std::string never_fits_reason(const spec::ResourceRequest& request) const;
  Allocation allocated_on(const std::string& node) const;

 private:
  struct NodeState {
    NodeCapacity capacity;
    bool schedulable = true;
    int64_t used_cpu = 0;
    int64_t used_memory = 0;
    std::set<int32_t> used_gpus;
  };
  struct Held {
    std::string node;
    int64_t cpu = 0;
    int64_t memory = 0;
    std::vector<int32_t> gpus;
  };
  static bool fits_total(const NodeState& n, const spec::ResourceRequest& r);
  static bool fits_free(const NodeState& n, const spec::ResourceRequest& r);

  std::map<std::string, NodeState> nodes_;  // by name: deterministic first fit
  std::map<std::string, Held> held_;        // by replica uid
};

}  // namespace cadre::actors

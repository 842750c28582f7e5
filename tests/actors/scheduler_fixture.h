// Nodes, gangs and a place() shorthand for the scheduler's tests.
#pragma once

#include <string>
#include <vector>

#include "actors/scheduler.h"

namespace cadre::actors::scheduler_test {

inline spec::ResourceRequest request(int64_t cpu, int64_t memory = 0, int32_t gpus = 0) {
  return spec::ResourceRequest{cpu, memory, gpus};
}

inline NodeCapacity node(const std::string& name, int64_t cpu, int32_t gpus = 0,
                         int32_t port_min = 0, int32_t port_max = 0, uint64_t epoch = 1) {
  NodeCapacity n;
  n.name = name;
  n.address = "10.0.0." + std::to_string(name.size());
  n.epoch = epoch;
  n.cpu_millis = cpu;
  n.memory_bytes = 1ll << 34;
  n.gpus = gpus;
  n.port_min = port_min;
  n.port_max = port_max;
  return n;
}

inline GangRequest gang(const std::string& job, int replicas, spec::ResourceRequest each,
                        spec::PlacementPolicy placement = spec::PlacementPolicy::kPack) {
  GangRequest g;
  g.job = job;
  g.placement = placement;
  for (int i = 0; i < replicas; ++i)
    g.members.push_back({job + "/worker-" + std::to_string(i), each});
  return g;
}

inline Scheduler::Fit place(Scheduler& s, const GangRequest& g,
                            std::vector<Placement>* out = nullptr) {
  std::vector<Placement> ignored;
  NeverFits never;
  return s.place(g, out ? out : &ignored, &never);
}

}  // namespace cadre::actors::scheduler_test

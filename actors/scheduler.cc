#include "actors/scheduler.h"

#include "protocol/spec/quantity.h"

namespace cadre::actors {

void Scheduler::upsert_node(const NodeCapacity& node) {
  auto& state = nodes_[node.name];
  state.capacity = node;
  state.schedulable = true;
}

void Scheduler::set_schedulable(const std::string& node, bool schedulable) {
  auto it = nodes_.find(node);
  if (it != nodes_.end()) it->second.schedulable = schedulable;
}

bool Scheduler::fits_total(const NodeState& n, const spec::ResourceRequest& r) {
  return r.cpu_millis <= n.capacity.cpu_millis && r.memory_bytes <= n.capacity.memory_bytes &&
         r.gpus <= n.capacity.gpus;
}

bool Scheduler::fits_free(const NodeState& n, const spec::ResourceRequest& r) {
  return n.schedulable && r.cpu_millis <= n.capacity.cpu_millis - n.used_cpu &&
         r.memory_bytes <= n.capacity.memory_bytes - n.used_memory &&
         r.gpus <= n.capacity.gpus - static_cast<int32_t>(n.used_gpus.size());
}

Scheduler::Fit Scheduler::place(const std::string& uid, const spec::ResourceRequest& request,
                                Placement* out) {
  bool could_ever = false;
  for (auto& [name, node] : nodes_) {
    if (!fits_total(node, request)) continue;
    could_ever = true;
    if (!fits_free(node, request)) continue;
    std::vector<int32_t> gpus;
    for (int32_t g = 0; g < node.capacity.gpus && static_cast<int32_t>(gpus.size()) < request.gpus;
         ++g) {
      if (node.used_gpus.count(g) == 0) gpus.push_back(g);
    }
    reserve(uid, name, request, gpus);
    *out = Placement{uid, name, node.capacity.epoch, gpus};
    return Fit::kPlaced;
  }
  // With no node registered yet nothing is known to be impossible: wait.
  return could_ever || nodes_.empty() ? Fit::kWait : Fit::kNever;
}

void Scheduler::reserve(const std::string& uid, const std::string& node,
                        const spec::ResourceRequest& request, const std::vector<int32_t>& gpus) {
  release(uid);
  auto& state = nodes_[node];
  if (state.capacity.name.empty()) state.capacity.name = node;  // adopted before it registered
  state.used_cpu += request.cpu_millis;
  state.used_memory += request.memory_bytes;
  state.used_gpus.insert(gpus.begin(), gpus.end());
  held_[uid] = Held{node, request.cpu_millis, request.memory_bytes, gpus};
}

void Scheduler::release(const std::string& uid) {
  auto it = held_.find(uid);
  if (it == held_.end()) return;
  auto node = nodes_.find(it->second.node);
  if (node != nodes_.end()) {
    node->second.used_cpu -= it->second.cpu;
    node->second.used_memory -= it->second.memory;
    for (int32_t g : it->second.gpus) node->second.used_gpus.erase(g);
  }
  held_.erase(it);
}

std::string Scheduler::never_fits_reason(const spec::ResourceRequest& r) const {
  int64_t cpu = 0, memory = 0;
  int32_t gpus = 0;
  for (const auto& [name, node] : nodes_) {
    cpu = std::max(cpu, node.capacity.cpu_millis);
    memory = std::max(memory, node.capacity.memory_bytes);
    gpus = std::max(gpus, node.capacity.gpus);
  }
  return "no node can ever hold cpu=" + spec::format_cpu(r.cpu_millis) +
         " memory=" + spec::format_memory(r.memory_bytes) + " gpu=" + std::to_string(r.gpus) +
         " (largest of " + std::to_string(nodes_.size()) + " nodes: cpu=" + spec::format_cpu(cpu) +
         " memory=" + spec::format_memory(memory) + " gpu=" + std::to_string(gpus) + ")";
}

Allocation Scheduler::allocated_on(const std::string& node) const {
  Allocation out;
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return out;
  out.cpu_millis = it->second.used_cpu;
  out.memory_bytes = it->second.used_memory;
  out.gpu_indices.assign(it->second.used_gpus.begin(), it->second.used_gpus.end());
  return out;
}

}  // namespace cadre::actors

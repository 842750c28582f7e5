#include "actors/scheduler.h"

#include <algorithm>
#include <numeric>

#include "protocol/spec/quantity.h"
#include "protocol/states.h"

namespace cadre::actors {
namespace {

namespace reason = protocol::reason;

std::string replica_of(const std::string& key) { return key.substr(key.find('/') + 1); }

std::string resources_of(int64_t cpu_millis, int64_t memory_bytes, int32_t gpus) {
  return actors::resources_of(spec::ResourceRequest{cpu_millis, memory_bytes, gpus});
}

// "gpu=h200,zone=a": a nodeSelector as it reads in messages.
std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [key, value] : labels) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

NeverFits launch_too_large(const GangRequest::Member& member, const std::string& where,
                           int64_t accepted) {
  return {reason::kLaunchTooLarge,
          "replica " + replica_of(member.key) + "'s launch is at least " +
              std::to_string(member.launch_bytes) + " bytes; " + where + " accepts at most " +
              std::to_string(accepted) +
              " (its agent's --max-message-bytes): make the command, args and env smaller or "
              "raise that limit"};
}

// What a waiting gang needs, for why_waiting.
std::string what_it_needs(const GangRequest& gang) {
  const spec::ResourceRequest total = total_of(gang);
  const int64_t cpu = total.cpu_millis, memory = total.memory_bytes;
  const int32_t gpus = total.gpus;
  // Replicas that select nodes say so: the free nodes listed may not be those.
  std::string selected;
  for (const auto& member : gang.members) {
    if (member.node_selector.empty()) continue;
    selected = " on a node labelled " + labels_text(member.node_selector);
    break;
  }
  if (gang.members.size() == 1) {
    return "replica " + replica_of(gang.members.front().key) + " needs " +
           resources_of(cpu, memory, gpus) + selected;
  }
  // Each replica runs on one node: free capacity split across nodes may add up to
  // the total and still not hold the gang, so say what one replica needs.
  int64_t max_cpu = 0, max_memory = 0;
  int32_t max_gpus = 0;
  bool uniform = true;
  const auto& first = gang.members.front().request;
  for (const auto& member : gang.members) {
    const auto& r = member.request;
    max_cpu = std::max(max_cpu, r.cpu_millis);
    max_memory = std::max(max_memory, r.memory_bytes);
    max_gpus = std::max(max_gpus, r.gpus);
    uniform = uniform && r.cpu_millis == first.cpu_millis && r.memory_bytes == first.memory_bytes &&
              r.gpus == first.gpus;
  }
  return "its " + std::to_string(gang.members.size()) + " replicas start together and need " +
         resources_of(cpu, memory, gpus) + " in all, " + (uniform ? "each " : "up to ") +
         resources_of(max_cpu, max_memory, max_gpus) + " on one node" + selected;
}

}  // namespace

spec::ResourceRequest total_of(const GangRequest& gang) {
  spec::ResourceRequest total;
  for (const auto& member : gang.members) {
    total.cpu_millis += member.request.cpu_millis;
    total.memory_bytes += member.request.memory_bytes;
    total.gpus += member.request.gpus;
  }
  return total;
}

std::string resources_of(const spec::ResourceRequest& r) {
  return "cpu=" + spec::format_cpu(r.cpu_millis) +
         " memory=" + spec::format_memory(r.memory_bytes) + " gpu=" + std::to_string(r.gpus);
}

void Scheduler::upsert_node(const NodeCapacity& node) {
  auto& state = nodes_[node.name];
  state.capacity = node;
  totals_.reset();
  state.schedulable = true;
  state.lost = false;
  if (state.next_port < node.port_min || state.next_port > node.port_max) {
    state.next_port = node.port_min;
  }
}

void Scheduler::set_schedulable(const std::string& node, bool schedulable) {
  auto it = nodes_.find(node);
  if (it != nodes_.end()) it->second.schedulable = schedulable;
}

void Scheduler::set_cordoned(const std::string& node, bool cordoned) {
  auto it = nodes_.find(node);
  if (it != nodes_.end()) it->second.cordoned = cordoned;
}

void Scheduler::set_lost(const std::string& node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  it->second.schedulable = false;
  it->second.lost = true;
  totals_.reset();
}

void Scheduler::remove_node(const std::string& node) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.node != node) {
      ++it;
      continue;
    }
    count_for_queue(it->second, -1);
    it = held_.erase(it);
  }
  nodes_.erase(node);
  totals_.reset();
}

bool Scheduler::fits_total(const NodeState& n, const spec::ResourceRequest& r) {
  return r.cpu_millis <= n.capacity.cpu_millis && r.memory_bytes <= n.capacity.memory_bytes &&
         r.gpus <= n.capacity.gpus;
}

bool Scheduler::has_port(const NodeState& n) {
  if (n.capacity.port_max == 0) return true;  // no range: replicas get port 0
  const int64_t range = int64_t{n.capacity.port_max} - n.capacity.port_min + 1;
  return static_cast<int64_t>(n.used_ports.size()) < range;
}

bool Scheduler::accepts(const NodeState& n, int64_t launch_bytes) {
  const int64_t limit = n.capacity.max_message_bytes;
  return limit <= 0 || launch_bytes <= limit;
}

bool Scheduler::can_take(const NodeState& n, const GangRequest::Member& member) {
  return fits_free(n, member.request) && accepts(n, member.launch_bytes) && selects(n, member);
}

bool Scheduler::selects(const NodeState& n, const GangRequest::Member& member) {
  for (const auto& [key, value] : member.node_selector) {
    const auto label = n.capacity.labels.find(key);
    if (label == n.capacity.labels.end() || label->second != value) return false;
  }
  return true;
}

bool Scheduler::fits_free(const NodeState& n, const spec::ResourceRequest& r) {
  return n.schedulable && !n.cordoned && r.cpu_millis <= n.capacity.cpu_millis - n.used_cpu &&
         r.memory_bytes <= n.capacity.memory_bytes - n.used_memory &&
         r.gpus <= n.capacity.gpus - static_cast<int32_t>(n.used_gpus.size()) && has_port(n);
}

// Pack: nodes this gang already uses first (fewer hosts, shared memory between
// ranks), then first fit in name order. Spread: the node holding the fewest of this
// gang's replicas, then the one with the most free CPU. A spread group (a service's
// replicas, each a job of its own) counts what the group already holds as well.
Scheduler::NodeState* Scheduler::choose(const GangRequest& gang, const GangRequest::Member& member,
                                        const std::vector<std::string>& used) {
  if (!gang.node.empty()) {
    auto it = nodes_.find(gang.node);
    return it != nodes_.end() && !it->second.lost && can_take(it->second, member) ? &it->second
                                                                                  : nullptr;
  }
  if (gang.placement == spec::PlacementPolicy::kPack && gang.spread_group.empty()) {
    for (const auto& name : used) {
      auto& node = nodes_.at(name);
      if (can_take(node, member)) return &node;
    }
    for (auto& [name, node] : nodes_) {
      if (can_take(node, member)) return &node;
    }
    return nullptr;
  }
  NodeState* best = nullptr;
  int best_count = 0;
  for (auto& [name, node] : nodes_) {
    if (!can_take(node, member)) continue;
    int count = static_cast<int>(std::count(used.begin(), used.end(), name));
    if (!gang.spread_group.empty()) count += held_of_group(name, gang.spread_group);
    if (best == nullptr || count < best_count ||
        (count == best_count &&
         node.capacity.cpu_millis - node.used_cpu > best->capacity.cpu_millis - best->used_cpu)) {
      best = &node;
      best_count = count;
    }
  }
  return best;
}

std::vector<std::string> Scheduler::node_names() const {
  std::vector<std::string> out;
  for (const auto& [name, node] : nodes_) out.push_back(name);
  return out;
}

int Scheduler::held_of_group(const std::string& node, const std::string& group) const {
  int n = 0;
  for (const auto& [key, held] : held_) n += held.node == node && held.group == group ? 1 : 0;
  return n;
}

Placement Scheduler::take(NodeState& node, const std::string& key,
                          const spec::ResourceRequest& request, const GangRequest& gang) {
  std::vector<int32_t> gpus;
  for (int32_t g = 0; g < node.capacity.gpus && static_cast<int32_t>(gpus.size()) < request.gpus;
       ++g) {
    if (node.used_gpus.count(g) == 0) gpus.push_back(g);
  }
  int32_t port = 0;
  if (node.capacity.port_max != 0) {
    // fits_free checked that a port is free; walk from the cursor to it.
    for (port = node.next_port; node.used_ports.count(port) != 0;) {
      port = port >= node.capacity.port_max ? node.capacity.port_min : port + 1;
    }
    node.next_port = port >= node.capacity.port_max ? node.capacity.port_min : port + 1;
  }
  reserve(key, node.capacity.name, request, gpus, port, gang.spread_group, gang.queue);
  return Placement{key,
                   node.capacity.name,
                   node.capacity.address,
                   node.capacity.epoch,
                   gpus,
                   port,
                   node.capacity.max_message_bytes};
}

Scheduler::Fit Scheduler::place(const GangRequest& gang, std::vector<Placement>* out,
                                NeverFits* never) {
  out->clear();
  if (auto why = never_fits(gang)) {
    *never = std::move(*why);
    return Fit::kNever;
  }
  if (over_quota(gang)) return Fit::kWait;
  // Largest requests first: first fit packs far better that way. Placements are
  // reported in member (rank) order.
  std::vector<size_t> order(gang.members.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto& x = gang.members[a].request;
    const auto& y = gang.members[b].request;
    return std::tie(x.gpus, x.cpu_millis, x.memory_bytes) >
           std::tie(y.gpus, y.cpu_millis, y.memory_bytes);
  });
  std::vector<Placement> placed(gang.members.size());
  std::vector<std::string> used;
  for (size_t i : order) {
    const auto& member = gang.members[i];
    NodeState* node = choose(gang, member, used);
    if (node == nullptr) {
      // All or nothing: give back what this attempt took.
      for (const auto& p : placed) {
        if (!p.key.empty()) unhold(p.key);
      }
      return Fit::kWait;
    }
    placed[i] = take(*node, member.key, member.request, gang);
    used.push_back(node->capacity.name);
  }
  *out = std::move(placed);
  classify(gang.job, gang.priority, gang.preemptible);
  return Fit::kPlaced;
}

// Sound checks only (never a false "never"): one member larger than every node, or
// whose launch no node that could hold it accepts, or the gang's total larger than
// the whole cluster in some resource. With no node that counts (none registered, or
// all Lost) nothing is known to be impossible.
std::optional<NeverFits> Scheduler::never_fits(const GangRequest& gang) const {
  if (auto never = never_fits_quota(gang)) return never;
  const Totals& t = totals();
  if (t.nodes == 0) return std::nullopt;
  if (!gang.node.empty()) return never_fits_pinned(gang);
  int64_t want_cpu = 0, want_memory = 0;
  int32_t want_gpus = 0;
  for (const auto& member : gang.members) {
    if (auto never = never_fits_anywhere(member)) return never;
    want_cpu += member.request.cpu_millis;
    want_memory += member.request.memory_bytes;
    want_gpus += member.request.gpus;
  }
  const std::string count = std::to_string(gang.members.size()) + " replicas";
  if (want_cpu > t.total_cpu || want_memory > t.total_memory || want_gpus > t.total_gpus) {
    return NeverFits{
        reason::kUnschedulable,
        "the gang of " + count + " needs " + resources_of(want_cpu, want_memory, want_gpus) +
            " in total; all " + std::to_string(t.nodes) +
            " nodes together hold cpu=" + spec::format_cpu(t.total_cpu) + " memory=" +
            spec::format_memory_rounded(t.total_memory) + " gpu=" + std::to_string(t.total_gpus)};
  }
  if (!t.unlimited_ports && static_cast<int64_t>(gang.members.size()) > t.total_ports) {
    return NeverFits{reason::kUnschedulable,
                     "the gang of " + count + " needs one port each; the nodes' port ranges hold " +
                         std::to_string(t.total_ports)};
  }
  return std::nullopt;
}

// Pinned: only its node matters. A node not (or no longer) known may register
// again, so the gang waits for it rather than failing.
std::optional<NeverFits> Scheduler::never_fits_pinned(const GangRequest& gang) const {
  auto it = nodes_.find(gang.node);
  if (it == nodes_.end() || it->second.lost) return std::nullopt;
  const NodeState& node = it->second;
  const std::string where = "node " + gang.node + ", where it is pinned,";
  for (const auto& member : gang.members) {
    if (!selects(node, member)) {
      return NeverFits{reason::kUnschedulable,
                       where + " lacks the labels " + labels_text(member.node_selector) +
                           " that replica " + replica_of(member.key) + " selects"};
    }
    if (!fits_total(node, member.request)) {
      return NeverFits{reason::kUnschedulable, where + " can never hold replica " +
                                                   replica_of(member.key) + " (" +
                                                   resources_of(member.request) + ")"};
    }
    if (!accepts(node, member.launch_bytes)) {
      return launch_too_large(member, where, node.capacity.max_message_bytes);
    }
  }
  return std::nullopt;
}

std::optional<NeverFits> Scheduler::never_fits_anywhere(const GangRequest::Member& member) const {
  const Totals& t = totals();
  const auto& r = member.request;
  const bool under_largest = r.cpu_millis <= t.largest_cpu && r.memory_bytes <= t.largest_memory &&
                             r.gpus <= t.largest_gpus;
  const bool selecting = !member.node_selector.empty();
  bool held = false;          // some node could hold it, were its launch accepted
  bool labelled = false;      // some node has the labels it selects
  int64_t most_accepted = 0;  // the largest launch such a node accepts
  // Past the largest node nothing holds it; a selector must still find its nodes.
  for (auto it = nodes_.begin(); (under_largest || selecting) && it != nodes_.end(); ++it) {
    const auto& node = it->second;
    if (node.lost || !selects(node, member)) continue;
    labelled = true;
    if (!fits_total(node, r)) continue;
    if (accepts(node, member.launch_bytes)) return std::nullopt;
    held = true;
    most_accepted = std::max(most_accepted, node.capacity.max_message_bytes);
  }
  if (held) return launch_too_large(member, "no node that could hold it", most_accepted);
  if (selecting && !labelled) {
    return NeverFits{reason::kUnschedulable,
                     "no node has the labels " + labels_text(member.node_selector) +
                         " that replica " + replica_of(member.key) +
                         " selects (nodeSelector; an agent's labels: cadre-agent --label)"};
  }
  if (selecting) {
    return NeverFits{reason::kUnschedulable,
                     "no node labelled " + labels_text(member.node_selector) +
                         " can ever hold replica " + replica_of(member.key) + " (" +
                         resources_of(r) + ")"};
  }
  return NeverFits{reason::kUnschedulable,
                   "no node can ever hold replica " + replica_of(member.key) + " (" +
                       resources_of(r) + ") (largest of " + std::to_string(t.nodes) +
                       " nodes: cpu=" + spec::format_cpu(t.largest_cpu) +
                       " memory=" + spec::format_memory_rounded(t.largest_memory) +
                       " gpu=" + std::to_string(t.largest_gpus) + ")"};
}

// What node n has free, and whether its agent takes the gang's largest launch: free
// capacity on a node that refuses it is capacity the gang cannot use.
std::string Scheduler::free_on(const NodeState& n, const GangRequest& gang) {
  std::string out =
      n.capacity.name + " cpu=" + spec::format_cpu(n.capacity.cpu_millis - n.used_cpu) +
      " memory=" + spec::format_memory_rounded(n.capacity.memory_bytes - n.used_memory) +
      " gpu=" + std::to_string(n.capacity.gpus - static_cast<int32_t>(n.used_gpus.size()));
  if (!has_port(n)) out += " (no free port)";
  int64_t largest = 0;
  for (const auto& member : gang.members) largest = std::max(largest, member.launch_bytes);
  if (!accepts(n, largest)) {
    out += " (its agent accepts launches up to " + std::to_string(n.capacity.max_message_bytes) +
           " bytes; this gang's are up to " + std::to_string(largest) + ")";
  }
  return out;
}

std::string Scheduler::why_waiting(const GangRequest& gang) const {
  const std::string need = what_it_needs(gang);
  if (over_quota(gang)) return why_over_quota(gang);
  if (!gang.node.empty()) {
    auto it = nodes_.find(gang.node);
    if (it == nodes_.end() || it->second.lost) {
      return "waiting for node " + gang.node + ", where it is pinned, to register again";
    }
    if (!it->second.schedulable) {
      return "waiting for node " + gang.node + ", where it is pinned, to be Ready again";
    }
    if (it->second.cordoned) {
      return "waiting for node " + gang.node + ", where it is pinned, to be uncordoned";
    }
    return "waiting for capacity on node " + gang.node + ", where it is pinned: " + need +
           "; free there: " + free_on(it->second, gang);
  }

  std::vector<const NodeState*> ready;
  std::vector<std::string> not_ready;
  std::vector<std::string> cordoned;
  for (const auto& [name, node] : nodes_) {
    if (node.lost) continue;
    if (!node.schedulable) {
      not_ready.push_back(name);
    } else if (node.cordoned) {
      cordoned.push_back(name);
    } else {
      ready.push_back(&node);
    }
  }
  if (ready.empty() && not_ready.empty() && cordoned.empty()) {
    return "waiting for a node to register";
  }
  std::stable_sort(ready.begin(), ready.end(), [](const NodeState* a, const NodeState* b) {
    return a->capacity.cpu_millis - a->used_cpu > b->capacity.cpu_millis - b->used_cpu;
  });
  // A few nodes say enough; a cluster of hundreds would make the status unreadable.
  constexpr size_t kListed = 4;
  std::string out = "waiting for capacity: " + need + "; free now: ";
  if (ready.empty()) {
    out += cordoned.empty() ? "nothing (no node is Ready)"
                            : "nothing (no node is Ready and uncordoned)";
  }
  for (size_t i = 0; i < ready.size() && i < kListed; ++i) {
    out += (i == 0 ? "" : ", ") + free_on(*ready[i], gang);
  }
  if (ready.size() > kListed) {
    out += " and " + std::to_string(ready.size() - kListed) + " more nodes with less cpu";
  }
  const auto name_some = [&](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out += std::string("; ") + what + ": " + names.front();
    if (names.size() > 1) out += " and " + std::to_string(names.size() - 1) + " more";
  };
  name_some("not Ready", not_ready);
  name_some("cordoned", cordoned);
  return out;
}

const Scheduler::Totals& Scheduler::totals() const {
  if (totals_) return *totals_;
  Totals t;
  for (const auto& [name, node] : nodes_) {
    if (node.lost) continue;
    ++t.nodes;
    const auto& c = node.capacity;
    t.largest_cpu = std::max(t.largest_cpu, c.cpu_millis);
    t.largest_memory = std::max(t.largest_memory, c.memory_bytes);
    t.largest_gpus = std::max(t.largest_gpus, c.gpus);
    t.total_cpu += c.cpu_millis;
    t.total_memory += c.memory_bytes;
    t.total_gpus += c.gpus;
    if (c.port_max == 0) {
      t.unlimited_ports = true;
    } else {
      t.total_ports += int64_t{c.port_max} - c.port_min + 1;
    }
  }
  totals_ = t;
  return *totals_;
}

void Scheduler::reserve(const std::string& key, const std::string& node,
                        const spec::ResourceRequest& request, const std::vector<int32_t>& gpus,
                        int32_t port, const std::string& spread_group, const std::string& queue) {
  unhold(key);
  auto& state = nodes_[node];
  if (state.capacity.name.empty()) {
    // Restored before its node registered again (a coordinator restart): a
    // placeholder with no capacity, which must not count as a node that can hold
    // nothing (every new job would look Unschedulable) until it registers.
    state.capacity.name = node;
    state.lost = true;
    totals_.reset();
  }
  state.used_cpu += request.cpu_millis;
  state.used_memory += request.memory_bytes;
  state.used_gpus.insert(gpus.begin(), gpus.end());
  if (port != 0) state.used_ports.insert(port);
  Held& held = held_[key] =
      Held{node, request.cpu_millis, request.memory_bytes, gpus, port, spread_group, queue};
  count_for_queue(held, +1);
}

void Scheduler::count_for_queue(const Held& held, int sign) {
  QueueUse& use = queue_use_[held.queue];
  use.used.cpu_millis += sign * held.cpu;
  use.used.memory_bytes += sign * held.memory;
  use.used.gpus += sign * static_cast<int32_t>(held.gpus.size());
  use.slots += sign;
  if (use.slots == 0) queue_use_.erase(held.queue);
}

void Scheduler::release(const std::string& key) {
  unhold(key);
  const std::string job = key.substr(0, key.find('/'));
  if (!holds(job)) jobs_.erase(job);
}

void Scheduler::unhold(const std::string& key) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  auto node = nodes_.find(it->second.node);
  if (node != nodes_.end()) {
    node->second.used_cpu -= it->second.cpu;
    node->second.used_memory -= it->second.memory;
    for (int32_t g : it->second.gpus) node->second.used_gpus.erase(g);
    if (it->second.port != 0) node->second.used_ports.erase(it->second.port);
  }
  count_for_queue(it->second, -1);
  held_.erase(it);
}

void Scheduler::release_job(const std::string& job) {
  const std::string prefix = job + "/";
  for (auto it = held_.lower_bound(prefix);
       it != held_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    const std::string key = (it++)->first;
    unhold(key);
  }
  jobs_.erase(job);
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

std::string Scheduler::address_of(const std::string& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? std::string() : it->second.capacity.address;
}

}  // namespace cadre::actors

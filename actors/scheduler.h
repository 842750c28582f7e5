// Placement logic, free of CAF so it is unit-testable and fast: node capacities,
// what each placed replica holds, and all-or-nothing gang placement over
// cpu/memory/gpu/ports. Owned by the scheduler actor (one thread at a time).
//
// Holdings are keyed by replica slot ("<job>/<replica name>", e.g. "fmnist/worker-1"),
// not by instance uid: a replica restarted in place keeps its node, GPUs and port
// without a round trip, and a whole job is released by key prefix.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/queue_quota.h"
#include "protocol/spec/job_spec.h"
#include "protocol/spec/train_job_spec.h"

namespace cadre::actors {

struct NodeCapacity {
  std::string name;
  std::string address;  // where peers reach replicas on this node
  uint64_t epoch = 0;
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  int32_t gpus = 0;
  int32_t port_min = 0;  // replica port range, inclusive; 0/0: none to assign
  int32_t port_max = 0;
  int64_t max_message_bytes = 0;              // the largest launch its agent accepts; 0: not said
  std::map<std::string, std::string> labels;  // as its agent registered them (--label)
};

struct Placement {
  std::string key;  // replica slot, "<job>/<name>"
  std::string node;
  std::string address;
  uint64_t epoch = 0;
  std::vector<int32_t> gpu_indices;
  int32_t port = 0;               // 0 when the node has no port range
  int64_t max_message_bytes = 0;  // the node's NodeCapacity::max_message_bytes
};

struct Allocation {
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  std::vector<int32_t> gpu_indices;
};

// The replicas of one job, placed together or not at all.
struct GangRequest {
  std::string job;
  int64_t attempt = 0;  // echoed back so a late answer for an older attempt is ignored
  struct Member {
    std::string key;  // "<job>/<name>"
    spec::ResourceRequest request;
    // Its launch message's size before placement, a lower bound (placement adds the
    // peers' addresses and ports): a node whose agent accepts less never gets it,
    // since the agent would drop its connection instead. 0: not said.
    int64_t launch_bytes = 0;
    // Its template's nodeSelector: only a node whose labels hold every pair takes it.
    std::map<std::string, std::string> node_selector{};
  };
  std::vector<Member> members;  // rank order
  spec::PlacementPolicy placement = spec::PlacementPolicy::kPack;
  int32_t priority = 0;
  // When set, every member goes to this node or the gang waits (a Notebook pinned
  // to the node that holds its workspace, as a local volume pins a pod).
  std::string node;
  // Jobs that are replicas of one thing (an InferenceService's): each goes to the
  // node holding the fewest of its group, then the one with the most free CPU, as
  // Kubernetes spreads a Deployment's pods. A soft preference: never a reason to wait.
  std::string spread_group;
  // While it waits it may stop placed gangs of strictly lower priority to make room
  // (schedulingPolicy.preemptionPolicy: PreemptLowerPriority).
  bool preempts = false;
  // schedulingPolicy.queue: with a quota (set_quotas), the gangs of one queue hold
  // no more than it together.
  std::string queue;
  // Once placed, a gang that preempts may stop it: batch work (a Job, TrainJob, trial
  // or pipeline step), which its supervisor queues again to resume from its
  // checkpoints. Serving replicas and notebook servers are never stopped for another.
  bool preemptible = false;
};

// What every member of a gang asks for, together.
spec::ResourceRequest total_of(const GangRequest& gang);
// "cpu=2 memory=1Gi gpu=0", as messages say what is needed or held.
std::string resources_of(const spec::ResourceRequest& r);

// Why a gang can never be placed: the reason its job fails with (Unschedulable, or
// LaunchTooLarge when nodes could hold it but none of their agents accepts its launch)
// and a message that says what it needs and what the nodes have.
struct NeverFits {
  std::string reason;
  std::string message;
};

class Scheduler {
 public:
  enum class Fit { kPlaced, kWait, kNever };

  // Adds a node or updates its capacity/epoch; a node is schedulable while Ready.
  void upsert_node(const NodeCapacity& node);
  void set_schedulable(const std::string& node, bool schedulable);
  // Cordoned (cadre cordon): the node gets no new replica but keeps what it holds
  // and still counts toward what could ever fit, since a cordon is for a while.
  // Kept when the node registers again.
  void set_cordoned(const std::string& node, bool cordoned);
  // A Lost node holds nothing new and no longer counts toward what could ever fit
  // (it may never come back); registering again makes it count again.
  void set_lost(const std::string& node);
  // Forgets a node (cadre delete node/NAME) and whatever its slots still held.
  void remove_node(const std::string& node);
  size_t node_count() const { return nodes_.size(); }
  // Each queue's quota; queues not named are unlimited.
  void set_quotas(std::map<std::string, QueueQuota> quotas) { quotas_ = std::move(quotas); }
  const std::map<std::string, QueueQuota>& quotas() const { return quotas_; }
  // What the placed gangs of `queue` hold together.
  spec::ResourceRequest used_by_queue(const std::string& queue) const;
  // Whether `queue` holds more than its own quota, on what its cohort lent it.
  bool borrows(const std::string& queue) const;
  // Jobs of `queue` holding slots now (the queue's admitted workloads), by name.
  std::vector<std::string> admitted_in(const std::string& queue) const;
  // Every queue some placed gang belongs to.
  std::set<std::string> queues_in_use() const;

  // Places every member or none. kNever (with *never set) when no node set, even
  // empty, could hold the gang; kWait when it could but the free capacity cannot now.
  Fit place(const GangRequest& gang, std::vector<Placement>* out, NeverFits* never);
  // Whether the gang could fit an empty cluster; why not when not. Empty clusters
  // wait: with no node registered yet nothing is known to be impossible.
  std::optional<NeverFits> never_fits(const GangRequest& gang) const;
  // Why a gang that place() answered kWait is waiting, for its job's status: what it
  // needs, and what the nodes have free now (most free CPU first, a few of them).
  // Built only when asked: place() runs on every queued gang at every change.
  std::string why_waiting(const GangRequest& gang) const;

  // The placed gangs to stop so that `gang`, which waits, fits: preemptible ones of
  // strictly lower priority, tried lowest priority and latest placed first (least
  // work lost), then each one the gang can do without spared, highest priority first
  // — Kubernetes' way of picking preemption victims. Empty when the gang may not
  // preempt, or stopping every candidate would still not make room.
  std::vector<std::string> victims_for(const GangRequest& gang) const;
  // Whether any slot of `job` is held.
  bool holds(const std::string& job) const;
  // Why `victim`, one of victims_for(gang), is stopped, for its event: "priority 10,
  // above its 0", or the cohort reclaim that took it.
  struct PreemptionCause {
    std::string message;
    bool reclaim = false;  // a cohort reclaim, not a lower priority
  };
  PreemptionCause preemption_cause(const GangRequest& gang, const std::string& victim) const;
  // What a placed job's priority is and whether it may be preempted, for a job whose
  // slots were re-asserted with reserve() (place() records it for the gangs it places).
  void classify(const std::string& job, int32_t priority, bool preemptible);

  // Re-asserts a placement that already exists (adoption after a coordinator restart).
  void reserve(const std::string& key, const std::string& node,
               const spec::ResourceRequest& request, const std::vector<int32_t>& gpus, int32_t port,
               const std::string& spread_group = "", const std::string& queue = "");
  void release(const std::string& key);
  void release_job(const std::string& job);  // every slot "<job>/..."

  Allocation allocated_on(const std::string& node) const;
  std::vector<std::string> node_names() const;
  std::string address_of(const std::string& node) const;

 private:
  struct NodeState {
    NodeCapacity capacity;
    bool schedulable = true;
    bool cordoned = false;  // set_cordoned: nothing new placed, still in Totals
    bool lost = false;      // Lost, or known only from a restored placement: not in Totals
    int64_t used_cpu = 0;
    int64_t used_memory = 0;
    std::set<int32_t> used_gpus;
    std::set<int32_t> used_ports;
    int32_t next_port = 0;  // rotates, so a restarted gang avoids ports in TIME_WAIT
  };
  struct Held {
    std::string node;
    int64_t cpu = 0;
    int64_t memory = 0;
    std::vector<int32_t> gpus;
    int32_t port = 0;
    std::string group;  // GangRequest::spread_group of its job
    std::string queue;  // GangRequest::queue of its job
  };
  static bool fits_total(const NodeState& n, const spec::ResourceRequest& r);
  static bool fits_free(const NodeState& n, const spec::ResourceRequest& r);
  static bool has_port(const NodeState& n);
  static bool accepts(const NodeState& n, int64_t launch_bytes);
  static bool can_take(const NodeState& n, const GangRequest::Member& member);
  static bool selects(const NodeState& n, const GangRequest::Member& member);
  static std::string free_on(const NodeState& n, const GangRequest& gang);
  std::optional<NeverFits> never_fits_pinned(const GangRequest& gang) const;
  std::optional<NeverFits> never_fits_anywhere(const GangRequest::Member& member) const;
  NodeState* choose(const GangRequest& gang, const GangRequest::Member& member,
                    const std::vector<std::string>& used);
  Placement take(NodeState& node, const std::string& key, const spec::ResourceRequest& request,
                 const GangRequest& gang);
  // The gang's queue has a quota its placed gangs and this one together exceed, or,
  // in a cohort, past what it may borrow or what the cohort leaves unused
  // (scheduler_quota.cc).
  bool over_quota(const GangRequest& gang) const;
  std::optional<NeverFits> never_fits_quota(const GangRequest& gang) const;
  std::string why_over_quota(const GangRequest& gang) const;
  // The most `quota`'s queue may hold: its quota plus borrowing limits in a cohort,
  // where a resource without a limit is bounded by the cohort alone.
  static ResourceLimits ceiling_of(const QueueQuota& quota);
  // The cohort of `quota`: what its queues' quotas add up to and what they hold, in
  // the resources `quota` sets.
  struct Cohort {
    ResourceLimits quota;
    spec::ResourceRequest used;
  };
  Cohort cohort_of(const QueueQuota& quota) const;
  // Both queues have quotas in one cohort.
  bool shares_cohort(const std::string& a, const std::string& b) const;
  // The queue of a job holding slots; "" when it holds none.
  std::string queue_of(const std::string& job) const;
  // The queues whose gangs `gang` may stop whatever their priority: the other queues
  // of its cohort that borrow now, when its quota says reclaim=Any and it asks for
  // no more than its own quota leaves (Kueue's reclaimWithinCohort: Any).
  std::set<std::string> reclaimable_queues(const GangRequest& gang) const;
  int held_of_group(const std::string& node, const std::string& group) const;
  void unhold(const std::string& key);  // frees a slot, keeping what jobs_ knows

  // Cluster-wide largest and total capacities, recomputed after a node changes.
  struct Totals {
    size_t nodes = 0;  // counted: not Lost
    int64_t largest_cpu = 0, largest_memory = 0, total_cpu = 0, total_memory = 0;
    int32_t largest_gpus = 0, total_gpus = 0;
    int64_t total_ports = 0;
    bool unlimited_ports = false;
  };
  const Totals& totals() const;

  std::map<std::string, NodeState> nodes_;  // by name: deterministic placement
  mutable std::optional<Totals> totals_;    // reset by upsert_node
  std::map<std::string, Held> held_;        // by slot key
  // What the slots of each queue hold together, kept with held_ (count_for_queue):
  // quotas are checked for every waiting gang at every change.
  struct QueueUse {
    spec::ResourceRequest used;
    int64_t slots = 0;
  };
  std::map<std::string, QueueUse> queue_use_;  // by queue; only queues holding slots
  void count_for_queue(const Held& held, int sign);
  std::map<std::string, QueueQuota> quotas_;  // by queue
  // Jobs holding slots: what preemption needs to know of them. `order` rises with
  // each placement, so the latest placed is known.
  struct Admitted {
    int32_t priority = 0;
    bool preemptible = false;
    uint64_t order = 0;
  };
  std::map<std::string, Admitted> jobs_;
  uint64_t next_order_ = 0;
};

}  // namespace cadre::actors

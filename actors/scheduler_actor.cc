// The scheduler actor: owns Scheduler (placement state) and the queue of gangs
// waiting for capacity, ordered by priority (higher first) and FIFO within one.
// A gang that fits is placed even if an earlier one does not (backfill), so a
// large gang can wait behind a stream of small ones; priorities are the lever.
//
// Messages: (schedule, GangRequest, job) answered later with (placed, attempt,
// placements) or (never, attempt, reason, message), and meanwhile (waiting, attempt, why)
// whenever why it waits has changed; (cancel, job) drops a queued gang;
// (release, "<job>/<replica>") frees one slot and (release, "<job>/") all of a job's.
#include <spdlog/spdlog.h>

#include <list>

#include "actors/actors.h"
#include "protocol/prometheus_text.h"

namespace cadre::actors {
namespace scheduler_shell {
namespace {

using Clock = std::chrono::steady_clock;

// A gang that waits is told why after kFirstWhy (most waits are shorter: a
// pipeline's fan-out queued behind its siblings), then again at most every
// kWhyInterval: free capacity moves with every placement and exit, and a busy
// cluster would otherwise rewrite every queued job's status at each of them.
constexpr auto kFirstWhy = std::chrono::seconds(1);
constexpr auto kWhyInterval = std::chrono::seconds(5);

struct Pending {
  GangRequest gang;
  caf::actor job;
  uint64_t seq = 0;         // arrival order
  Clock::time_point since;  // when it reached the scheduler
  std::string told;         // the last why_waiting its job was sent
  Clock::time_point told_at;
  bool stale = true;  // something changed since `told` was worked out
};

struct SchedulerState {
  std::shared_ptr<CoordinatorMetrics> metrics;
  Scheduler scheduler;
  std::list<Pending> queue;  // priority descending, then arrival
  uint64_t next_seq = 0;
  bool recheck_armed = false;  // a tick will drain again: some gang's why may be stale
};

using Self = caf::stateful_actor<SchedulerState>;

// Tells a waiting gang's job why it waits, when that is due and something
// changed since it was last worked out; while it is not yet due, a tick comes back.
void tell_why(Self* self, Pending& pending, bool changed) {
  auto& st = self->state;
  pending.stale = pending.stale || changed;
  if (!pending.stale) return;
  const auto now = Clock::now();
  const auto due =
      pending.told.empty() ? pending.since + kFirstWhy : pending.told_at + kWhyInterval;
  if (now < due) {
    if (!st.recheck_armed) {
      st.recheck_armed = true;
      self->delayed_send(self, kFirstWhy, tick_atom::value);
    }
    return;
  }
  pending.stale = false;
  pending.told_at = now;
  std::string why = st.scheduler.why_waiting(pending.gang);
  if (why == pending.told) return;
  pending.told = why;
  self->send(pending.job, waiting_atom::value, pending.gang.attempt, std::move(why));
}

// Places what fits now, answers what can never fit, keeps the rest queued.
// `changed`: the cluster or the queue changed (false for the tick of tell_why).
void drain(Self* self, bool changed = true) {
  auto& st = self->state;
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    std::vector<Placement> placements;
    NeverFits never;
    switch (st.scheduler.place(it->gang, &placements, &never)) {
      case Scheduler::Fit::kPlaced:
        if (st.metrics) st.metrics->placed(std::chrono::steady_clock::now() - it->since);
        self->send(it->job, placed_atom::value, it->gang.attempt, placements);
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kNever:
        self->send(it->job, never_atom::value, it->gang.attempt, never.reason, never.message);
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kWait:
        tell_why(self, *it, changed);
        ++it;
        break;
    }
  }
}

void enqueue(Self* self, GangRequest gang, caf::actor job) {
  auto& queue = self->state.queue;
  queue.remove_if([&](const Pending& p) { return p.gang.job == gang.job; });
  auto at = std::find_if(queue.begin(), queue.end(),
                         [&](const Pending& p) { return p.gang.priority < gang.priority; });
  Pending pending;
  pending.gang = std::move(gang);
  pending.job = std::move(job);
  pending.seq = self->state.next_seq++;
  pending.since = Clock::now();
  queue.insert(at, std::move(pending));
}

// The queue's length and what is allocated on each node.
std::string scrape(const SchedulerState& st) {
  protocol::PrometheusText out;
  out.family("cadre_scheduler_queue_length", "gauge", "Gangs waiting for capacity.");
  out.sample("cadre_scheduler_queue_length", {}, static_cast<double>(st.queue.size()));
  out.family("cadre_node_allocated", "gauge",
             "What placed replicas hold on a node: cpu in cores, memory in bytes, gpu in devices.");
  for (const auto& node : st.scheduler.node_names()) {
    const Allocation a = st.scheduler.allocated_on(node);
    out.sample("cadre_node_allocated", {{"node", node}, {"resource", "cpu"}},
               static_cast<double>(a.cpu_millis) / 1000);
    out.sample("cadre_node_allocated", {{"node", node}, {"resource", "memory"}},
               static_cast<double>(a.memory_bytes));
    out.sample("cadre_node_allocated", {{"node", node}, {"resource", "gpu"}},
               static_cast<double>(a.gpu_indices.size()));
  }
  return out.str();
}

caf::behavior scheduler(Self* self, std::shared_ptr<CoordinatorMetrics> metrics) {
  self->state.metrics = std::move(metrics);
  return {
      [=](scrape_atom) { return scrape(self->state); },
      [=](tick_atom) {
        self->state.recheck_armed = false;
        drain(self, false);
      },
      [=](node_up_atom, const NodeCapacity& node) {
        self->state.scheduler.upsert_node(node);
        drain(self);
      },
      // A node known from before a restart: it counts, but holds nothing new yet.
      [=](node_up_atom, const NodeCapacity& node, bool schedulable) {
        self->state.scheduler.upsert_node(node);
        self->state.scheduler.set_schedulable(node.name, schedulable);
        drain(self);
      },
      // Lost: it no longer counts toward what could ever fit; deleted: forgotten.
      [=](node_lost_atom, const std::string& node) {
        self->state.scheduler.set_lost(node);
        drain(self);
      },
      [=](delete_atom, const std::string& node) {
        self->state.scheduler.remove_node(node);
        drain(self);
      },
      [=](cordon_atom, const std::string& node, bool cordoned) {
        self->state.scheduler.set_cordoned(node, cordoned);
        if (!cordoned) drain(self);
      },
      [=](node_state_atom, const std::string& node, bool schedulable) {
        self->state.scheduler.set_schedulable(node, schedulable);
        if (schedulable) drain(self);
      },
      [=](schedule_atom, GangRequest gang, caf::actor job) {
        enqueue(self, std::move(gang), std::move(job));
        drain(self);
      },
      [=](cancel_atom, const std::string& job) {
        self->state.queue.remove_if([&](const Pending& p) { return p.gang.job == job; });
      },
      [=](release_atom, const std::string& key) {
        if (!key.empty() && key.back() == '/') {
          self->state.scheduler.release_job(key.substr(0, key.size() - 1));
        } else {
          self->state.scheduler.release(key);
        }
        drain(self);
      },
      [=](reserve_atom, const std::string& key, const std::string& node,
          const spec::ResourceRequest& request, const std::vector<int32_t>& gpus,
          int32_t port) { self->state.scheduler.reserve(key, node, request, gpus, port); },
      [=](alloc_atom, std::vector<protocol::NodeStatus> nodes) {
        for (auto& node : nodes) {
          const Allocation a = self->state.scheduler.allocated_on(node.name);
          node.allocated_cpu_millis = a.cpu_millis;
          node.allocated_memory_bytes = a.memory_bytes;
          node.allocated_gpus = static_cast<int32_t>(a.gpu_indices.size());
        }
        return nodes;
      },
  };
}

}  // namespace
}  // namespace scheduler_shell

caf::actor spawn_scheduler(caf::actor_system& system, std::shared_ptr<CoordinatorMetrics> metrics) {
  return system.spawn(scheduler_shell::scheduler, std::move(metrics));
}

}  // namespace cadre::actors

// The scheduler actor: owns Scheduler (placement state) and the queue of gangs
// waiting for capacity, ordered by priority (higher first) and FIFO within one.
// A gang that fits is placed even if an earlier one does not (backfill), so a
// large gang can wait behind a stream of small ones; priorities are the lever.
//
// Messages: (schedule, GangRequest, job) answered later with (placed, attempt,
// placements) or (never, attempt, reason); (cancel, job) drops a queued gang;
// (release, "<job>/<replica>") frees one slot and (release, "<job>/") all of a job's.
#include <spdlog/spdlog.h>

#include <list>

#include "actors/actors.h"
#include "protocol/prometheus_text.h"

namespace cadre::actors {
namespace {

struct Pending {
  GangRequest gang;
  caf::actor job;
  uint64_t seq = 0;                             // arrival order
  std::chrono::steady_clock::time_point since;  // when it reached the scheduler
};

struct SchedulerState {
  std::shared_ptr<CoordinatorMetrics> metrics;
  Scheduler scheduler;
  std::list<Pending> queue;  // priority descending, then arrival
  uint64_t next_seq = 0;
};

using Self = caf::stateful_actor<SchedulerState>;

// Places what fits now, answers what can never fit, keeps the rest queued.
void drain(Self* self) {
  auto& st = self->state;
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    std::vector<Placement> placements;
    std::string why;
    switch (st.scheduler.place(it->gang, &placements, &why)) {
      case Scheduler::Fit::kPlaced:
        if (st.metrics) st.metrics->placed(std::chrono::steady_clock::now() - it->since);
        self->send(it->job, placed_atom::value, it->gang.attempt, placements);
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kNever:
        self->send(it->job, never_atom::value, it->gang.attempt, why);
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kWait:
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
  queue.insert(at, Pending{std::move(gang), std::move(job), self->state.next_seq++,
                           std::chrono::steady_clock::now()});
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
      [=](node_up_atom, const NodeCapacity& node) {
        self->state.scheduler.upsert_node(node);
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

caf::actor spawn_scheduler(caf::actor_system& system, std::shared_ptr<CoordinatorMetrics> metrics) {
  return system.spawn(scheduler, std::move(metrics));
}

}  // namespace cadre::actors

#include <spdlog/spdlog.h>

#include <list>

#include "actors/actors.h"

namespace cadre::actors {
namespace {

struct Pending {
  std::string uid;
  spec::ResourceRequest request;
  caf::actor job;  // told (placed_atom, Placement) or (never_atom, uid, reason)
};

struct SchedulerState {
  Scheduler scheduler;
  std::list<Pending>
      queue;  // arrival order; a request that fits never waits behind one that does not
};

// Places what fits now, answers what can never fit, keeps the rest queued.
void drain(caf::stateful_actor<SchedulerState>* self) {
  auto& st = self->state;
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    Placement placement;
    switch (st.scheduler.place(it->uid, it->request, &placement)) {
      case Scheduler::Fit::kPlaced:
        self->send(it->job, placed_atom::value, placement);
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kNever:
        self->send(it->job, never_atom::value, it->uid,
                   st.scheduler.never_fits_reason(it->request));
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kWait:
        ++it;
        break;
    }
  }
}

caf::behavior scheduler(caf::stateful_actor<SchedulerState>* self) {
  return {
      [=](node_up_atom, const NodeCapacity& node) {
        self->state.scheduler.upsert_node(node);
        drain(self);
      },
      [=](node_state_atom, const std::string& node, bool schedulable) {
        self->state.scheduler.set_schedulable(node, schedulable);
        if (schedulable) drain(self);
      },
      [=](schedule_atom, const std::string& uid, const spec::ResourceRequest& request,
          caf::actor job) {
        self->state.queue.push_back(Pending{uid, request, std::move(job)});
        drain(self);
      },
      [=](cancel_atom, const std::string& uid) {
        self->state.queue.remove_if([&](const Pending& p) { return p.uid == uid; });
        self->state.scheduler.release(uid);
        drain(self);
      },
      [=](release_atom, const std::string& uid) {
        self->state.scheduler.release(uid);
        drain(self);
      },
      [=](reserve_atom, const std::string& uid, const std::string& node,
          const spec::ResourceRequest& request, const std::vector<int32_t>& gpus) {
        self->state.scheduler.reserve(uid, node, request, gpus);
      },
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

caf::actor spawn_scheduler(caf::actor_system& system) { return system.spawn(scheduler); }

}  // namespace cadre::actors

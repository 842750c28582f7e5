// The scheduler actor: owns Scheduler (placement state) and the queue of gangs
// waiting for capacity, ordered by priority (higher first) and FIFO within one.
// A gang that fits is placed even if an earlier one does not (backfill), so a
// large gang can wait behind a stream of small ones; priorities are the lever.
//
// Messages: (schedule, GangRequest, job) answered later with (placed, attempt,
// placements) or (never, attempt, reason, message), and meanwhile (waiting, attempt, why)
// whenever why it waits has changed; (cancel, job) drops a queued gang;
// (release, "<job>/<replica>") frees one slot and (release, "<job>/") all of a job's.
//
// Preemption: a waiting gang that may preempt and would fit once some placed gangs
// of lower priority stopped (Scheduler::victims_for) sends each of their jobs
// (preempt, by, priority). Until those jobs hold nothing, it waits at the head of the
// line: no gang behind it is placed, so the room it made is its own — bounded by
// kPreemptionWait, after which it chooses again.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <list>
#include <map>

#include "actors/actors.h"
#include "actors/queue_status.h"
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
// Longer than any victim needs to stop (its kill grace, then its node's lease when
// the node went silent): past it the gang chooses its victims again.
constexpr auto kPreemptionWait = std::chrono::minutes(2);

struct Pending {
  GangRequest gang;
  caf::actor job;
  uint64_t seq = 0;         // arrival order
  Clock::time_point since;  // when it reached the scheduler
  std::string told;         // the last why_waiting its job was sent
  Clock::time_point told_at;
  bool stale = true;                 // something changed since `told` was worked out
  std::vector<std::string> victims;  // jobs it preempted that still hold slots
  bool reclaim = false;              // some of them for a cohort reclaim
  Clock::time_point preempted_at;
};

struct SchedulerState {
  std::shared_ptr<CoordinatorMetrics> metrics;
  Scheduler scheduler;
  std::list<Pending> queue;  // priority descending, then arrival
  uint64_t next_seq = 0;
  bool recheck_armed = false;  // a tick will drain again: some gang's why may be stale
  std::map<std::string, caf::actor> holders;  // the supervisor of each job holding slots
  uint64_t preemptions = 0;                   // jobs preempted since start
};

using Self = caf::stateful_actor<SchedulerState>;

// Why a gang that preempted waits: "preempting job a, job b (lower priority): ...",
// or "(reclaiming its queue's quota)" when a cohort reclaim chose any of them.
std::string preempting(const std::vector<std::string>& victims, bool reclaim) {
  std::string names;
  for (const auto& job : victims) names += (names.empty() ? "job " : ", job ") + job;
  return "preempting " + names +
         (reclaim ? " (reclaiming its queue's quota)" : " (lower priority)") +
         ": placed once their replicas have stopped";
}

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
  std::string why = pending.victims.empty() ? st.scheduler.why_waiting(pending.gang)
                                            : preempting(pending.victims, pending.reclaim);
  if (why == pending.told) return;
  pending.told = why;
  self->send(pending.job, waiting_atom::value, pending.gang.attempt, std::move(why));
}

// Sends each victim's supervisor the preemption, and keeps the gang waiting for them.
void preempt(Self* self, Pending& pending, std::vector<std::string> victims) {
  auto& st = self->state;
  pending.reclaim = false;
  for (const auto& victim : victims) {
    auto cause = st.scheduler.preemption_cause(pending.gang, victim);
    spdlog::info("job={} preempted for job={}: {}", victim, pending.gang.job, cause.message);
    pending.reclaim = pending.reclaim || cause.reclaim;
    auto holder = st.holders.find(victim);
    if (holder != st.holders.end()) {
      self->send(holder->second, preempt_atom::value, pending.gang.job, cause.message);
    }
    ++st.preemptions;
  }
  pending.victims = std::move(victims);
  pending.preempted_at = Clock::now();
}

// Whether the gang still waits for jobs it preempted to stop; forgets those that have.
bool awaits_victims(const Scheduler& scheduler, Pending& pending) {
  auto& victims = pending.victims;
  victims.erase(std::remove_if(victims.begin(), victims.end(),
                               [&](const std::string& job) { return !scheduler.holds(job); }),
                victims.end());
  if (!victims.empty() && Clock::now() - pending.preempted_at > kPreemptionWait) {
    spdlog::warn("job={} still waits for preempted job={} after {} s; choosing again",
                 pending.gang.job, victims.front(),
                 std::chrono::duration_cast<std::chrono::seconds>(kPreemptionWait).count());
    victims.clear();
  }
  return !victims.empty();
}

// Places what fits now, answers what can never fit, keeps the rest queued. A gang
// that waits for the jobs it preempted holds back every gang behind it.
// `changed`: the cluster or the queue changed (false for the tick of tell_why).
void drain(Self* self, bool changed = true) {
  auto& st = self->state;
  bool held_back = false;
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    std::vector<Placement> placements;
    NeverFits never;
    Scheduler::Fit fit = Scheduler::Fit::kWait;
    if (held_back || awaits_victims(st.scheduler, *it)) {
      if (auto why = st.scheduler.never_fits(it->gang)) {
        fit = Scheduler::Fit::kNever;
        never = std::move(*why);
      }
      held_back = true;
    } else {
      fit = st.scheduler.place(it->gang, &placements, &never);
    }
    switch (fit) {
      case Scheduler::Fit::kPlaced:
        if (st.metrics) st.metrics->placed(std::chrono::steady_clock::now() - it->since);
        st.holders[it->gang.job] = it->job;
        self->send(it->job, placed_atom::value, it->gang.attempt, placements);
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kNever:
        self->send(it->job, never_atom::value, it->gang.attempt, never.reason, never.message);
        it = st.queue.erase(it);
        break;
      case Scheduler::Fit::kWait:
        if (!held_back) {
          auto victims = st.scheduler.victims_for(it->gang);
          if (!victims.empty()) {
            preempt(self, *it, std::move(victims));
            held_back = true;
          }
        }
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

// The gangs waiting, in the order drain() tries them.
std::vector<WaitingGang> waiting_gangs(const SchedulerState& st) {
  std::vector<WaitingGang> out;
  out.reserve(st.queue.size());
  for (const auto& p : st.queue) out.push_back({p.gang.job, p.gang.queue});
  return out;
}

// The queue's length and what is allocated on each node.
std::string scrape(const SchedulerState& st) {
  protocol::PrometheusText out;
  out.family("cadre_scheduler_queue_length", "gauge", "Gangs waiting for capacity.");
  out.sample("cadre_scheduler_queue_length", {}, static_cast<double>(st.queue.size()));
  out.family("cadre_scheduler_preemptions_total", "counter",
             "Placed jobs stopped to make room for a waiting gang of higher priority.");
  out.sample("cadre_scheduler_preemptions_total", {}, static_cast<double>(st.preemptions));
  // Each family's samples together, as the exposition format wants them.
  const auto queues = queue_statuses(st.scheduler, waiting_gangs(st));
  const auto per_resource = [&](const char* family, auto value_of) {
    for (const auto& queue : queues) {
      if (!st.scheduler.quotas().count(queue.name)) continue;
      for (const char* resource : {"cpu", "memory", "gpu"}) {
        if (auto value = value_of(queue, std::string(resource))) {
          out.sample(family, {{"queue", queue.name}, {"resource", resource}}, *value);
        }
      }
    }
  };
  out.family("cadre_queue_quota", "gauge",
             "A queue's quota: cpu in cores, memory in bytes, gpu in devices (set ones only).");
  per_resource("cadre_queue_quota", [](const protocol::QueueStatus& q, const std::string& r) {
    const auto& quota = q.quota;
    if (r == "cpu")
      return quota.cpu_millis ? std::optional<double>(*quota.cpu_millis / 1000.0) : std::nullopt;
    if (r == "memory") {
      return quota.memory_bytes ? std::optional<double>(*quota.memory_bytes) : std::nullopt;
    }
    return quota.gpus ? std::optional<double>(*quota.gpus) : std::nullopt;
  });
  out.family("cadre_queue_used", "gauge",
             "What the placed gangs of a queue with a quota hold: cpu, memory, gpu.");
  per_resource("cadre_queue_used", [](const protocol::QueueStatus& q, const std::string& r) {
    return std::optional<double>(r == "cpu"      ? q.used_cpu_millis / 1000.0
                                 : r == "memory" ? static_cast<double>(q.used_memory_bytes)
                                                 : q.used_gpus);
  });
  out.family("cadre_queue_pending_gangs", "gauge", "Gangs of a queue waiting to be placed.");
  for (const auto& queue : queues) {
    out.sample("cadre_queue_pending_gangs", {{"queue", queue.name}}, queue.pending);
  }
  out.family("cadre_queue_admitted_jobs", "gauge", "Jobs of a queue holding slots.");
  for (const auto& queue : queues) {
    out.sample("cadre_queue_admitted_jobs", {{"queue", queue.name}}, queue.admitted);
  }
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

caf::behavior scheduler(Self* self, std::shared_ptr<CoordinatorMetrics> metrics,
                        std::map<std::string, QueueQuota> quotas) {
  self->state.metrics = std::move(metrics);
  self->state.scheduler.set_quotas(std::move(quotas));
  return {
      [=](scrape_atom) { return scrape(self->state); },
      // The quotas read again from the configuration (SIGHUP): placed gangs stay; the
      // queue is walked at once, so a raised quota admits, and a gang now larger than
      // its queue's quota fails Unschedulable as at start.
      [=](quotas_atom, QueueQuotas quotas) {
        self->state.scheduler.set_quotas(std::move(quotas));
        drain(self);
      },
      [=](queues_atom, const std::string& name) {
        return queue_statuses(self->state.scheduler, waiting_gangs(self->state), name);
      },
      [=](tick_atom) {
        self->state.recheck_armed = false;
        drain(self, false);
      },
      [=](node_up_atom, const NodeCapacity& node) {
        self->state.scheduler.upsert_node(node);
        drain(self);
      },
      // The nodes known from before a restart, all at once (so no gang meets only
      // some of them): they count, but hold nothing new until they register.
      [=](node_up_atom, const std::vector<NodeCapacity>& nodes) {
        for (const auto& node : nodes) {
          self->state.scheduler.upsert_node(node);
          self->state.scheduler.set_schedulable(node.name, false);
        }
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
        auto& st = self->state;
        const std::string job = key.substr(0, key.find('/'));
        if (!key.empty() && key.back() == '/') {
          st.scheduler.release_job(job);
        } else {
          st.scheduler.release(key);
        }
        if (!st.scheduler.holds(job)) st.holders.erase(job);
        drain(self);
      },
      // A placement that survived a coordinator restart, from its job's supervisor.
      [=](reserve_atom, const std::string& key, const std::string& node,
          const spec::ResourceRequest& request, const std::vector<int32_t>& gpus, int32_t port,
          int32_t priority, bool preemptible, const std::string& queue) {
        auto& st = self->state;
        const std::string job = key.substr(0, key.find('/'));
        st.scheduler.reserve(key, node, request, gpus, port, "", queue);
        st.scheduler.classify(job, priority, preemptible);
        st.holders[job] = caf::actor_cast<caf::actor>(self->current_sender());
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
}  // namespace scheduler_shell

caf::actor spawn_scheduler(caf::actor_system& system, std::shared_ptr<CoordinatorMetrics> metrics,
                           std::map<std::string, QueueQuota> quotas) {
  return system.spawn(scheduler_shell::scheduler, std::move(metrics), std::move(quotas));
}

}  // namespace cadre::actors

// The supervisor of one Job or TrainJob: it owns the gang's state machine.
//
//   Queued --gang placed--> (launches sent) --all started--> Running --success policy--> Succeeded
//      |                                                      |  \--permanent failure--> Failed
//      |                                     replica failed --+--> Restarting --all started-->
//      Running
//      \--no node set could ever hold it--> Failed/Unschedulable; deadline -->
//      Failed/DeadlineExceeded
//
// A replica is Pending (not placed), Starting (launch sent), Running, Terminating
// (kill sent), Succeeded or Failed. A collective gang restarts as a whole, and only
// once every old instance has ended: no two instances of a rank ever run together.
// gang_rules.h decides what an exit means; replica_environment.h builds each launch.
//
// Every transition is written to the store before anyone hears of it: the client's
// apply, the agent's exit acknowledgement, and the launches wait for the write.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "actors/actors.h"
#include "actors/gang_rules.h"
#include "actors/replica_environment.h"
#include "actors/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::MessageKind;
using protocol::ReplicaStatus;
using Verdict = ExitDecision::Verdict;

struct JobState {
  ActorContext ctx;
  JobRecord rec;
  spec::TrainJobSpec spec;
  std::vector<bool> confirmed;    // per replica: its node reported it since restore/registration
  int64_t placement_attempt = 0;  // answers for an older gang request are ignored
  bool deleting = false;
  caf::response_promise delete_promise;
};

using Self = caf::stateful_actor<JobState>;

bool terminal(const std::string& phase) { return phase == "Succeeded" || phase == "Failed"; }
bool alive(const ReplicaStatus& r) {
  return r.state == "Starting" || r.state == "Running" || r.state == "Terminating";
}
std::string slot_key(Self* self, const ReplicaStatus& r) {
  return self->state.rec.status.name + "/" + r.name;
}
std::vector<ReplicaStatus>& replicas(Self* self) { return self->state.rec.status.replicas; }
bool none_alive(Self* self) {
  const auto& all = replicas(self);
  return std::none_of(all.begin(), all.end(), alive);
}
const spec::ReplicaSpec& spec_of(Self* self, const ReplicaStatus& r) {
  return *self->state.spec.find(r.type);
}

// The summary fields older clients read, and the per-type counts.
void refresh_summary(Self* self) {
  auto& st = self->state.rec.status;
  st.replica_statuses.clear();
  for (const auto& r : st.replicas) {
    auto& counts = st.replica_statuses[r.type];
    if (alive(r)) counts.active++;
    if (r.state == "Succeeded") counts.succeeded++;
    if (r.state == "Failed") counts.failed++;
  }
  if (!st.replicas.empty()) {
    st.node = st.replicas.front().node;
    st.replica = st.replicas.front().uid;
  }
}

void notify_manager(Self* self) {
  refresh_summary(self);
  protocol::JobStatus summary = self->state.rec.status;
  summary.manifest.clear();  // the manager's cache holds summaries only
  self->send(self->state.ctx.manager, status_atom::value, summary);
}

void event(Self* self, const std::string& type, const std::string& reason,
           const std::string& message) {
  const auto& name = self->state.rec.status.name;
  if (type == "Warning") {
    spdlog::warn("job={} {}: {}", name, reason, message);
  } else {
    spdlog::info("job={} {}: {}", name, reason, message);
  }
  self->send(self->state.ctx.store, event_atom::value, name,
             protocol::JobEvent{wall_ms(), type, reason, message});
}

// Kubeflow-style conditions: one entry per type; Queued, Running and Restarting
// exclude each other, and a finished job has none of them True.
void set_condition(Self* self, const std::string& type, const std::string& reason,
                   const std::string& message) {
  auto& conditions = self->state.rec.status.conditions;
  const bool finished = type == "Succeeded" || type == "Failed";
  for (auto& c : conditions) {
    const bool exclusive = c.type == "Queued" || c.type == "Running" || c.type == "Restarting";
    if (c.type != type && c.status == "True" && (exclusive || finished) && c.type != "Created") {
      c.status = "False";
      c.last_transition_ms = wall_ms();
    }
  }
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const auto& c) { return c.type == type; });
  if (it == conditions.end()) {
    conditions.push_back(protocol::JobCondition{type, "True", reason, message, wall_ms()});
  } else {
    *it = protocol::JobCondition{type, "True", reason, message, wall_ms()};
  }
}

void set_phase(Self* self, const std::string& phase, const std::string& reason,
               const std::string& message) {
  auto& st = self->state.rec.status;
  st.phase = phase;
  st.reason = reason;
  st.message = message;
  set_condition(self, phase, reason, message);
}

// Writes the record, then runs `then` (with the store's verdict logged).
template <typename F>
void persist(Self* self, F then) {
  notify_manager(self);
  self->request(self->state.ctx.store, caf::infinite, put_atom::value, self->state.rec)
      .then([=](const std::string& error) {
        if (!error.empty()) {
          spdlog::error("job={} state not stored: {}", self->state.rec.status.name, error);
        }
        then();
      });
}
void persist(Self* self) {
  persist(self, [] {});
}

int64_t grace_ms(Self* self, const ReplicaStatus& r) {
  const auto& g = spec_of(self, r).tmpl.termination_grace_seconds;
  return g ? *g * 1000 : self->state.ctx.policy.kill_grace.count();
}

// Sends the kill and marks the replica Terminating; if its end is never reported
// (its node went silent) a timer declares it gone once the lease has surely killed it.
void terminate(Self* self, ReplicaStatus& r, const std::string& why) {
  if (!alive(r)) return;
  r.state = "Terminating";
  self->state.ctx.outbox->agent(r.node, r.epoch, MessageKind::kKillReplica,
                                protocol::KillReplica{r.uid, grace_ms(self, r), why});
  const auto wait =
      std::chrono::milliseconds(grace_ms(self, r)) + self->state.ctx.policy.lost_after;
  self->delayed_send(self, wait, stop_atom::value, r.uid);
}

void release(Self* self, const ReplicaStatus& r) {
  self->send(self->state.ctx.scheduler, release_atom::value, slot_key(self, r));
}

void request_placement(Self* self) {
  auto& st = self->state;
  GangRequest gang;
  gang.job = st.rec.status.name;
  gang.attempt = ++st.placement_attempt;
  gang.placement = st.spec.run_policy.scheduling.placement;
  gang.priority = st.spec.run_policy.scheduling.priority;
  for (const auto& r : replicas(self)) {
    gang.members.push_back({slot_key(self, r), spec_of(self, r).tmpl.resources});
  }
  self->send(st.ctx.scheduler, schedule_atom::value, gang, caf::actor_cast<caf::actor>(self));
}

JobIdentity identity(Self* self) {
  const auto& st = self->state;
  const auto& ns = st.spec.metadata.ns;
  return JobIdentity{st.rec.status.name, ns, st.rec.token,
                     st.ctx.policy.checkpoint_root.empty()
                         ? ""
                         : st.ctx.policy.checkpoint_root + "/" + ns + "/" + st.rec.status.name};
}

void launch(Self* self, size_t i) {
  const auto& r = replicas(self)[i];
  self->state.ctx.outbox->agent(r.node, r.epoch, MessageKind::kLaunchReplica,
                                make_launch(self->state.spec, replicas(self), i, identity(self)));
}

// A new instance of replica i: a fresh uid, so the agent's folder, log and any
// late report of the old instance stay apart.
void new_instance(Self* self, ReplicaStatus& r) {
  r.uid =
      self->state.rec.status.name + "-" + r.name + "-" + std::to_string(self->state.rec.attempts++);
  r.state = "Starting";
  r.started_ms = 0;
}

void on_placed(Self* self, int64_t attempt, const std::vector<Placement>& placements) {
  auto& st = self->state;
  if (attempt != st.placement_attempt || terminal(st.rec.status.phase) || st.deleting) {
    // Nothing of this job runs while its gang waits for placement: free it all.
    self->send(st.ctx.scheduler, release_atom::value, st.rec.status.name + "/");
    return;
  }
  std::string where;
  for (size_t i = 0; i < placements.size(); ++i) {
    auto& r = replicas(self)[i];
    const auto& p = placements[i];
    r.node = p.node;
    r.address = p.address;
    r.epoch = p.epoch;
    r.port = p.port;
    r.gpu_indices = p.gpu_indices;
    new_instance(self, r);
    st.confirmed[i] = true;
    where += (where.empty() ? "" : ", ") + r.name + "@" + p.node +
             (p.port ? ":" + std::to_string(p.port) : "");
  }
  event(self, "Normal", "Scheduled",
        "gang of " + std::to_string(placements.size()) + " placed: " + where);
  // Launch only once the placement is durable, so a restart can find the replicas.
  std::vector<std::string> uids;
  for (const auto& r : replicas(self)) uids.push_back(r.uid);
  persist(self, [=] {
    for (size_t i = 0; i < uids.size(); ++i) {
      if (replicas(self)[i].uid == uids[i] && replicas(self)[i].state == "Starting")
        launch(self, i);
    }
  });
}

void set_ttl(Self* self) {
  const auto& ttl = self->state.spec.run_policy.ttl_seconds_after_finished;
  if (!ttl) return;
  const int64_t due = self->state.rec.status.finished_ms + *ttl * 1000;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, due - wall_ms())),
                     expire_atom::value);
}

// The job is over: record why and stop what cleanPodPolicy says to stop.
void finish(Self* self, const std::string& phase, const std::string& reason,
            const std::string& message, bool kill_all = false) {
  auto& st = self->state;
  set_phase(self, phase, reason, message);
  st.rec.status.finished_ms = wall_ms();
  event(self, phase == "Succeeded" ? "Normal" : "Warning", reason, message);
  self->send(st.ctx.scheduler, cancel_atom::value, st.rec.status.name);
  if (kill_all || st.spec.run_policy.clean_pod_policy != spec::CleanPodPolicy::kNone) {
    for (auto& r : replicas(self)) terminate(self, r, "job " + phase);
  }
  set_ttl(self);
}

void complete_delete(Self* self);

// Every old instance has ended: place the whole gang again.
void place_gang_again(Self* self) {
  auto& st = self->state;
  self->send(st.ctx.scheduler, release_atom::value, st.rec.status.name + "/");
  for (auto& r : replicas(self)) {
    r.state = "Pending";
    r.node.clear();
    r.address.clear();
    r.port = 0;
    r.gpu_indices.clear();
    r.started_ms = 0;
  }
  request_placement(self);
}

void restart(Self* self, size_t i, const ExitDecision& d, const std::string& what) {
  auto& st = self->state;
  auto& r = replicas(self)[i];
  if (d.counts) st.rec.status.restarts++;
  const std::string count = d.counts
                                ? " (restart " + std::to_string(st.rec.status.restarts) + " of " +
                                      std::to_string(st.spec.run_policy.backoff_limit) + ")"
                                : " (not counted: the launch never ran)";
  if (d.verdict == Verdict::kRestartReplica) {
    set_phase(self, "Restarting", "ReplicaRestart", what + "; restarting it in place" + count);
    event(self, "Warning", "ReplicaRestart", what + "; restarting it in place" + count);
    r.restarts++;
    new_instance(self, r);
    const std::string uid = r.uid;
    persist(self, [=] {
      if (replicas(self)[i].uid == uid && replicas(self)[i].state == "Starting") launch(self, i);
    });
    return;
  }
  set_phase(self, "Restarting", "GangRestart", what + "; restarting the whole gang" + count);
  event(self, "Warning", "GangRestart", what + "; restarting the whole gang" + count);
  for (auto& other : replicas(self)) {
    other.restarts++;
    terminate(self, other, "gang restart");
  }
  if (none_alive(self)) place_gang_again(self);
}

// Replica i's instance has ended (state, exit_code and reason are set); it was
// Terminating when we had asked it to stop.
void handle_end(Self* self, size_t i, bool was_terminating, int32_t signal,
                const std::string& detail) {
  auto& st = self->state;
  auto& r = replicas(self)[i];
  const std::string what = describe_exit(r, signal, detail);
  if (terminal(st.rec.status.phase) || st.deleting || was_terminating) {
    release(self, r);
    // The last old instance of a gang restart is gone: now the new gang may start.
    if (!terminal(st.rec.status.phase) && !st.deleting && st.rec.status.phase == "Restarting" &&
        none_alive(self)) {
      place_gang_again(self);
    }
    return;
  }
  const ExitDecision d = decide_after_exit(st.spec, replicas(self), i, st.rec.status.restarts);
  switch (d.verdict) {
    case Verdict::kNone:
      release(self, r);
      event(self, "Normal", "ReplicaCompleted", what);
      return;
    case Verdict::kSucceeded:
    case Verdict::kFail:
      release(self, r);
      st.rec.status.exit_code = r.exit_code;
      if (d.verdict == Verdict::kSucceeded) {
        finish(self, "Succeeded", d.reason, d.message);
      } else {
        finish(self, "Failed", d.reason, d.message.empty() ? what : what + "; " + d.message);
      }
      return;
    case Verdict::kRestartReplica:
    case Verdict::kRestartGang:
      if (d.verdict == Verdict::kRestartGang) release(self, r);
      restart(self, i, d, what);
      return;
  }
}

std::optional<size_t> find_uid(Self* self, const std::string& uid) {
  const auto& all = replicas(self);
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].uid == uid) return i;
  }
  return std::nullopt;
}

void on_exited(Self* self, const std::string& node, const protocol::ReplicaExited& exit) {
  auto ack = [=](uint64_t epoch) {
    self->state.ctx.outbox->agent(node, epoch, MessageKind::kReplicaExitedAck,
                                  protocol::ReplicaExitedAck{exit.uid});
  };
  auto i = find_uid(self, exit.uid);
  if (!i || replicas(self)[*i].node != node || !alive(replicas(self)[*i])) {
    ack(i ? replicas(self)[*i].epoch : 0);  // stale or repeated: let the agent forget it
    return;
  }
  auto& r = replicas(self)[*i];
  const bool was_terminating = r.state == "Terminating";
  const bool ok = exit.exit_code == 0 && exit.signal == 0;
  r.state = ok ? "Succeeded" : "Failed";
  r.exit_code = exit.exit_code;
  r.reason = exit.reason.empty() ? (ok ? "Completed" : "Error") : exit.reason;
  const uint64_t epoch = r.epoch;
  handle_end(self, *i, was_terminating, exit.signal, exit.message);
  persist(self, [=] {
    ack(epoch);
    if (self->state.deleting && none_alive(self)) complete_delete(self);
  });
}

// An instance that ended without a report: its node was lost, or it was missing
// after a restart or re-registration.
void lost(Self* self, size_t i, const std::string& reason, const std::string& detail) {
  auto& r = replicas(self)[i];
  const bool was_terminating = r.state == "Terminating";
  r.state = "Failed";
  r.exit_code.reset();
  r.reason = reason;
  handle_end(self, i, was_terminating, 0, detail);
}

void on_started(Self* self, const std::string& node, const protocol::ReplicaStarted& started) {
  auto i = find_uid(self, started.uid);
  if (!i || replicas(self)[*i].node != node) return;
  auto& r = replicas(self)[*i];
  self->state.confirmed[*i] = true;
  if (r.state != "Starting") return;
  r.state = "Running";
  r.started_ms = started.started_ms ? started.started_ms : wall_ms();
  auto& st = self->state.rec.status;
  const auto& all = replicas(self);
  const bool everyone = std::all_of(all.begin(), all.end(), [](const ReplicaStatus& x) {
    return x.state == "Running" || x.state == "Succeeded";
  });
  if (everyone && (st.phase == "Queued" || st.phase == "Restarting")) {
    if (st.started_ms == 0) st.started_ms = wall_ms();
    const std::string message =
        all.size() == 1
            ? "replica " + r.name + " pid " + std::to_string(started.pid) + " on " + node
            : "all " + std::to_string(all.size()) + " replicas running";
    set_phase(self, "Running", "Started", message);
    event(self, "Normal", "Started", message);
  }
  persist(self);
}

// The node (re)registered, reporting which of our instances it still runs.
void on_adopt(Self* self, const NodeReport& report) {
  auto& st = self->state;
  bool changed = false;
  for (const auto& uid : report.running) {
    auto i = find_uid(self, uid);
    if (!i || replicas(self)[*i].node != report.node || !alive(replicas(self)[*i])) {
      st.ctx.outbox->agent(report.node, report.epoch, MessageKind::kKillReplica,
                           protocol::KillReplica{uid, 0, "stale replica"});
    }
  }
  for (size_t i = 0; i < replicas(self).size(); ++i) {
    auto& r = replicas(self)[i];
    if (r.node != report.node || !alive(r)) continue;
    r.epoch = report.epoch;
    if (report.running.count(r.uid) == 0) {
      // The exit may still be on its way: agents resend exits after registering.
      st.confirmed[i] = false;
      self->delayed_send(self, st.ctx.policy.heartbeat_interval * 3, gone_atom::value, r.uid);
      continue;
    }
    st.confirmed[i] = true;
    changed = true;
    if (r.state == "Terminating") {
      terminate(self, r, "stopping");  // the kill may have been lost with the old epoch
      continue;
    }
    if (r.state == "Starting") {
      r.state = "Running";
      r.started_ms = wall_ms();
    }
    event(self, "Normal", "Adopted",
          "replica " + r.name + " (" + r.uid + ") still running on " + report.node + " (epoch " +
              std::to_string(report.epoch) + ")");
  }
  if (!changed) return;
  auto& status = st.rec.status;
  const auto& all = replicas(self);
  if (status.phase == "Queued" && std::all_of(all.begin(), all.end(), [](const auto& x) {
        return x.state == "Running" || x.state == "Succeeded";
      })) {
    if (status.started_ms == 0) status.started_ms = wall_ms();
    set_phase(self, "Running", "Adopted", "replicas adopted after a restart");
  }
  persist(self);
}

void complete_delete(Self* self) {
  const auto name = self->state.rec.status.name;
  if (!self->state.deleting) return;
  self->state.deleting = false;
  self->send(self->state.ctx.scheduler, cancel_atom::value, name);
  self->send(self->state.ctx.scheduler, release_atom::value, name + "/");
  self->request(self->state.ctx.store, caf::infinite, delete_atom::value, name)
      .then([=](const std::string& error) {
        if (!error.empty()) spdlog::error("job={} not removed from store: {}", name, error);
        spdlog::info("job={} deleted", name);
        self->send(self->state.ctx.manager, gone_atom::value, name);
        if (self->state.delete_promise.pending()) self->state.delete_promise.deliver(name);
        self->quit();
      });
}

// Deletion (by a client or ttlSecondsAfterFinished) completes once every replica is gone.
void start_delete(Self* self) {
  auto& st = self->state;
  st.deleting = true;
  int64_t longest = 0;
  for (auto& r : replicas(self)) {
    if (!alive(r)) continue;
    longest = std::max(longest, grace_ms(self, r));
    terminate(self, r, "job deleted");
  }
  if (none_alive(self)) {
    complete_delete(self);
    return;
  }
  persist(self);
  self->delayed_send(self, std::chrono::milliseconds(longest + 5000), timeout_atom::value);
}

void arm_deadline(Self* self) {
  const auto& deadline = self->state.spec.run_policy.active_deadline_seconds;
  if (!deadline || terminal(self->state.rec.status.phase)) return;
  const int64_t due = self->state.rec.status.created_ms + *deadline * 1000;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, due - wall_ms())),
                     deadline_atom::value);
}

// After a coordinator restart: hold what placed instances hold and wait for their
// nodes to report them; place again what was waiting.
void restore(Self* self) {
  auto& st = self->state;
  bool any_alive = false;
  for (size_t i = 0; i < replicas(self).size(); ++i) {
    auto& r = replicas(self)[i];
    if (!alive(r)) continue;
    any_alive = true;
    st.confirmed[i] = false;
    self->send(st.ctx.scheduler, reserve_atom::value, slot_key(self, r), r.node,
               spec_of(self, r).tmpl.resources, r.gpu_indices, r.port);
    self->delayed_send(self, st.ctx.policy.lost_after, gone_atom::value, r.uid);
  }
  if (terminal(st.rec.status.phase)) {
    set_ttl(self);
  } else if (!any_alive) {
    place_gang_again(self);
  }
}

ReplicaLocation locate(Self* self, const std::string& name) {
  ReplicaLocation loc;
  const auto& all = replicas(self);
  const ReplicaStatus* r = nullptr;
  if (name.empty()) {
    // The replica whose exit decides the job (chief, master, launcher, else rank 0).
    for (const char* leader : {"Main", "Chief", "Master", "Launcher", "Worker"}) {
      for (const auto& x : all) {
        if (r == nullptr && x.type == leader && x.index == 0) r = &x;
      }
    }
    if (r == nullptr && !all.empty()) r = &all.front();
  } else {
    for (const auto& x : all) {
      if (x.name == name) r = &x;
    }
  }
  if (r == nullptr) return loc;
  loc.found = !r->node.empty() && !r->uid.empty();
  loc.node = r->node;
  loc.epoch = r->epoch;
  loc.uid = r->uid;
  loc.finished = !alive(*r) && r->state != "Pending";
  return loc;
}

caf::behavior job(Self* self, ActorContext ctx, JobRecord record, spec::TrainJobSpec spec,
                  bool restored) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.rec = std::move(record);
  st.spec = std::move(spec);
  if (st.rec.status.replicas.empty()) st.rec.status.replicas = initial_replicas(st.spec);
  st.confirmed.assign(st.rec.status.replicas.size(), true);
  st.rec.status.priority = st.spec.run_policy.scheduling.priority;
  st.rec.status.queue = st.spec.run_policy.scheduling.queue;
  if (restored) {
    restore(self);
  } else {
    set_condition(self, "Created", "Created", "job created");
    set_condition(self, "Queued", "Queued", "waiting for the whole gang to fit");
    request_placement(self);
  }
  arm_deadline(self);
  notify_manager(self);
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("job supervisor {}: request failed: {}", actor->id(), caf::to_string(error));
  });
  return {
      [=](placed_atom, int64_t attempt, const std::vector<Placement>& placements) {
        on_placed(self, attempt, placements);
      },
      [=](never_atom, int64_t attempt, const std::string& reason) {
        if (attempt != self->state.placement_attempt || terminal(self->state.rec.status.phase)) {
          return;
        }
        finish(self, "Failed", "Unschedulable", reason);
        persist(self);
      },
      [=](started_atom, const std::string& node, const protocol::ReplicaStarted& started) {
        on_started(self, node, started);
      },
      [=](exited_atom, const std::string& node, const protocol::ReplicaExited& exit) {
        on_exited(self, node, exit);
      },
      [=](metrics_atom, const protocol::MetricsReport& report) {
        auto& rec = self->state.rec;
        auto i = find_uid(self, report.uid);
        if (!i || report.samples.empty()) return;
        // The job's headline metrics are its leader's (rank 0 prints them for cadre-train).
        const auto leader = locate(self, "");
        if (report.uid == leader.uid || replicas(self).size() == 1) {
          for (const auto& sample : report.samples) rec.status.metrics[sample.name] = sample.value;
          notify_manager(self);
        }
        self->send(self->state.ctx.store, metrics_atom::value, rec.status.name, report.uid,
                   report.samples);
      },
      [=](adopt_atom, const NodeReport& report) { on_adopt(self, report); },
      [=](gone_atom, const std::string& uid) {
        auto i = find_uid(self, uid);
        if (!i || self->state.confirmed[*i] || !alive(replicas(self)[*i])) return;
        const auto& r = replicas(self)[*i];
        const bool never_ran = r.state == "Starting";
        lost(self, *i, never_ran ? "LaunchLost" : "ReplicaLost", "not reported by node " + r.node);
        persist(self, [=] {
          if (self->state.deleting && none_alive(self)) complete_delete(self);
        });
      },
      [=](stop_atom, const std::string& uid) {
        // A kill whose end was never reported: by now the node's lease has killed it.
        auto i = find_uid(self, uid);
        if (!i || replicas(self)[*i].state != "Terminating") return;
        lost(self, *i, "ReplicaLost", "no exit reported after the kill");
        persist(self, [=] {
          if (self->state.deleting && none_alive(self)) complete_delete(self);
        });
      },
      [=](node_lost_atom, const std::string& node) {
        bool any = false;
        for (size_t i = 0; i < replicas(self).size(); ++i) {
          if (replicas(self)[i].node != node || !alive(replicas(self)[i])) continue;
          any = true;
          lost(self, i, "NodeLost", "node " + node + " stopped heartbeating");
        }
        if (!any) return;
        persist(self, [=] {
          if (self->state.deleting && none_alive(self)) complete_delete(self);
        });
      },
      [=](deadline_atom) {
        if (terminal(self->state.rec.status.phase)) return;
        finish(self, "Failed", "DeadlineExceeded",
               "active deadline of " +
                   std::to_string(*self->state.spec.run_policy.active_deadline_seconds) +
                   "s exceeded",
               /*kill_all=*/true);
        persist(self);
      },
      [=](delete_atom) {
        self->state.delete_promise = self->make_response_promise();
        start_delete(self);
      },
      [=](expire_atom) {
        if (!terminal(self->state.rec.status.phase) || self->state.deleting) return;
        event(self, "Normal", "Expired", "ttlSecondsAfterFinished passed; deleting the job");
        start_delete(self);
      },
      [=](timeout_atom) { complete_delete(self); },
      [=](get_atom) {
        refresh_summary(self);
        return self->state.rec.status;
      },
      [=](where_atom, const std::string& replica) { return locate(self, replica); },
  };
}

}  // namespace

caf::actor spawn_job(caf::actor_system& system, ActorContext ctx, JobRecord record,
                     spec::TrainJobSpec spec, bool restored) {
  return system.spawn(job, std::move(ctx), std::move(record), std::move(spec), restored);
}

}  // namespace cadre::actors

// The supervisor of one Job. It owns the job's state machine:
//
//   Queued --placed--> (launch sent) --started--> Running --exited 0--> Succeeded
//      |                                              \--exited !=0 / node lost--> Failed
//      \--no node could ever fit--> Failed/Unschedulable;  deadline --> Failed/DeadlineExceeded
//
// Every transition is written to the store before anyone hears of it: the client's
// apply, the agent's exit acknowledgement, and the launch itself wait for the write.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "actors/actors.h"
#include "actors/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::MessageKind;

struct JobState {
  ActorContext ctx;
  JobRecord rec;
  spec::JobSpec spec;
  bool replica_active = false;  // it holds resources and its process may be alive
  bool confirmed = true;        // its node has reported it since the last restart/registration
  bool deleting = false;
  caf::response_promise delete_promise;
};

using Self = caf::stateful_actor<JobState>;

bool terminal(const std::string& phase) { return phase == "Succeeded" || phase == "Failed"; }

void notify_manager(Self* self) {
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

void finish(Self* self, const std::string& phase, const std::string& reason,
            const std::string& message) {
  auto& st = self->state.rec.status;
  st.phase = phase;
  st.reason = reason;
  st.message = message;
  st.finished_ms = wall_ms();
  event(self, phase == "Succeeded" ? "Normal" : "Warning", reason, message);
}

int64_t grace_ms(Self* self) {
  const auto& g = self->state.spec.replica.termination_grace_seconds;
  return g ? *g * 1000 : self->state.ctx.policy.kill_grace.count();
}

void kill_replica(Self* self, const std::string& why) {
  auto& rec = self->state.rec;
  self->state.ctx.outbox->agent(rec.status.node, rec.node_epoch, MessageKind::kKillReplica,
                                protocol::KillReplica{rec.status.replica, grace_ms(self), why});
}

void release(Self* self) {
  if (!self->state.replica_active) return;
  self->state.replica_active = false;
  self->send(self->state.ctx.scheduler, release_atom::value, self->state.rec.status.replica);
}

void request_placement(Self* self) {
  auto& rec = self->state.rec;
  rec.status.replica = rec.status.name + "-main-0-" + std::to_string(rec.attempts);
  self->send(self->state.ctx.scheduler, schedule_atom::value, rec.status.replica,
             self->state.spec.replica.resources, caf::actor_cast<caf::actor>(self));
}

protocol::LaunchReplica make_launch(Self* self) {
  const auto& rec = self->state.rec;
  const auto& tmpl = self->state.spec.replica;
  protocol::LaunchReplica launch;
  launch.uid = rec.status.replica;
  launch.job = rec.status.name;
  launch.ns = self->state.spec.metadata.ns;
  launch.replica_type = "Main";
  launch.command = tmpl.command;
  launch.args = tmpl.args;
  launch.working_dir = tmpl.working_dir;
  launch.cpu_millis = tmpl.resources.cpu_millis;
  launch.memory_bytes = tmpl.resources.memory_bytes;
  launch.gpu_indices = rec.gpus;
  // The environment contract (DESIGN.md) for a single replica; user env wins.
  launch.env = {{"CADRE_JOB", rec.status.name},
                {"CADRE_NAMESPACE", launch.ns},
                {"CADRE_REPLICA_TYPE", launch.replica_type},
                {"CADRE_REPLICA_INDEX", "0"},
                {"CADRE_RANK", "0"},
                {"CADRE_WORLD_SIZE", "1"},
                {"RANK", "0"},
                {"WORLD_SIZE", "1"},
                {"LOCAL_RANK", "0"}};
  for (const auto& var : tmpl.env) launch.env[var.name] = var.value;
  return launch;
}

void on_placed(Self* self, const Placement& placement) {
  auto& rec = self->state.rec;
  if (placement.uid != rec.status.replica || terminal(rec.status.phase)) {
    self->send(self->state.ctx.scheduler, release_atom::value, placement.uid);
    return;
  }
  rec.status.node = placement.node;
  rec.node_epoch = placement.epoch;
  rec.attempts += 1;
  rec.gpus = placement.gpu_indices;
  self->state.replica_active = true;
  event(self, "Normal", "Scheduled", "replica " + placement.uid + " placed on " + placement.node);
  // Launch only once the placement is durable, so a restart can find the replica.
  persist(self, [=] {
    if (!self->state.replica_active || self->state.rec.status.replica != placement.uid) return;
    self->state.ctx.outbox->agent(placement.node, placement.epoch, MessageKind::kLaunchReplica,
                                  make_launch(self));
  });
}

void on_exited(Self* self, const std::string& node, const protocol::ReplicaExited& exit) {
  auto& rec = self->state.rec;
  auto ack = [=] {
    self->state.ctx.outbox->agent(node, self->state.rec.node_epoch, MessageKind::kReplicaExitedAck,
                                  protocol::ReplicaExitedAck{exit.uid});
  };
  if (exit.uid != rec.status.replica || node != rec.status.node || !self->state.replica_active) {
    ack();  // a stale or repeated report: nothing to change, let the agent forget it
    return;
  }
  release(self);
  rec.status.exit_code = exit.exit_code;
  if (!terminal(rec.status.phase)) {
    if (exit.exit_code == 0 && exit.signal == 0) {
      finish(self, "Succeeded", "Completed", "replica exited with code 0");
    } else {
      const std::string reason = exit.reason.empty() ? "Error" : exit.reason;
      std::string message = exit.signal != 0
                                ? "replica killed by signal " + std::to_string(exit.signal)
                                : "replica exited with code " + std::to_string(exit.exit_code);
      if (!exit.message.empty()) message += ": " + exit.message;
      finish(self, "Failed", reason, message);
    }
  }
  persist(self, [=] {
    ack();
    if (self->state.deleting) self->send(self, timeout_atom::value);
  });
}

// Deletion completes once the replica is gone (or the wait ran out).
void complete_delete(Self* self) {
  const auto name = self->state.rec.status.name;
  if (!self->state.deleting) return;
  self->state.deleting = false;
  release(self);
  self->send(self->state.ctx.scheduler, cancel_atom::value, self->state.rec.status.replica);
  self->request(self->state.ctx.store, caf::infinite, delete_atom::value, name)
      .then([=](const std::string& error) {
        if (!error.empty()) spdlog::error("job={} not removed from store: {}", name, error);
        spdlog::info("job={} deleted", name);
        self->send(self->state.ctx.manager, gone_atom::value, name);
        self->state.delete_promise.deliver(name);
        self->quit();
      });
}

void arm_deadline(Self* self) {
  const auto& deadline = self->state.spec.active_deadline_seconds;
  if (!deadline || terminal(self->state.rec.status.phase)) return;
  const int64_t due = self->state.rec.status.created_ms + *deadline * 1000;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, due - wall_ms())),
                     deadline_atom::value);
}

caf::behavior job(Self* self, ActorContext ctx, JobRecord record, spec::JobSpec spec,
                  bool restored) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.rec = std::move(record);
  st.spec = std::move(spec);
  if (!terminal(st.rec.status.phase)) {
    if (restored && !st.rec.status.node.empty()) {
      // Placed before the restart: hold its resources and wait for its node to report it.
      st.replica_active = true;
      st.confirmed = false;
      self->send(st.ctx.scheduler, reserve_atom::value, st.rec.status.replica, st.rec.status.node,
                 st.spec.replica.resources, st.rec.gpus);
      self->delayed_send(self, st.ctx.policy.lost_after, gone_atom::value, st.rec.status.replica);
    } else {
      request_placement(self);
    }
    arm_deadline(self);
  }
  notify_manager(self);
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("job supervisor {}: request failed: {}", actor->id(), caf::to_string(error));
  });
  return {
      [=](placed_atom, const Placement& placement) { on_placed(self, placement); },
      [=](never_atom, const std::string& uid, const std::string& reason) {
        if (uid != self->state.rec.status.replica || terminal(self->state.rec.status.phase)) return;
        finish(self, "Failed", "Unschedulable", reason);
        persist(self);
      },
      [=](started_atom, const std::string& node, const protocol::ReplicaStarted& started) {
        auto& rec = self->state.rec;
        if (started.uid != rec.status.replica || node != rec.status.node) return;
        self->state.confirmed = true;
        if (rec.status.phase != "Queued") return;
        rec.status.phase = "Running";
        rec.status.reason = "Started";
        rec.status.message = "";
        rec.status.started_ms = started.started_ms ? started.started_ms : wall_ms();
        event(self, "Normal", "Started",
              "replica " + started.uid + " pid " + std::to_string(started.pid) + " on " + node);
        persist(self);
      },
      [=](exited_atom, const std::string& node, const protocol::ReplicaExited& exit) {
        on_exited(self, node, exit);
      },
      [=](metrics_atom, const protocol::MetricsReport& report) {
        auto& rec = self->state.rec;
        if (report.uid != rec.status.replica || report.samples.empty()) return;
        for (const auto& sample : report.samples) rec.status.metrics[sample.name] = sample.value;
        self->send(self->state.ctx.store, metrics_atom::value, rec.status.name, report.uid,
                   report.samples);
        notify_manager(self);
      },
      [=](adopt_atom, const std::string& node, uint64_t epoch, bool present) {
        auto& rec = self->state.rec;
        if (node != rec.status.node) return;
        if (!present) {
          // The exit may still be on its way (agents resend exits after registering).
          if (self->state.replica_active) {
            self->state.confirmed = false;
            self->delayed_send(self, self->state.ctx.policy.heartbeat_interval * 3,
                               gone_atom::value, rec.status.replica);
          }
          return;
        }
        if (!self->state.replica_active) {
          self->state.ctx.outbox->agent(node, epoch, MessageKind::kKillReplica,
                                        protocol::KillReplica{rec.status.replica, 0, "stale"});
          return;
        }
        rec.node_epoch = epoch;
        self->state.confirmed = true;
        if (rec.status.phase == "Queued") {
          rec.status.phase = "Running";
          rec.status.started_ms = wall_ms();
        }
        event(self, "Normal", "Adopted",
              "replica " + rec.status.replica + " still running on " + node + " (epoch " +
                  std::to_string(epoch) + ")");
        persist(self);
      },
      [=](gone_atom, const std::string& uid) {
        // Fires after a restart or re-registration when the replica was not reported.
        auto& rec = self->state.rec;
        if (uid != rec.status.replica || !self->state.replica_active || self->state.confirmed) {
          return;
        }
        release(self);
        if (rec.status.phase == "Queued") {
          // Never started: the launch was lost with the old coordinator; place it again.
          event(self, "Warning", "Rescheduled",
                "replica " + uid + " was not running on " + rec.status.node + "; placing again");
          rec.status.node.clear();
          request_placement(self);
          persist(self);
          return;
        }
        if (!terminal(rec.status.phase)) {
          finish(self, "Failed", "ReplicaLost",
                 "replica " + uid + " was not reported by node " + rec.status.node);
        }
        persist(self);
      },
      [=](node_lost_atom, const std::string& node) {
        auto& rec = self->state.rec;
        if (node != rec.status.node || !self->state.replica_active) return;
        release(self);
        if (!terminal(rec.status.phase)) {
          finish(self, "Failed", "NodeLost", "node " + node + " stopped heartbeating");
        }
        persist(self, [=] {
          if (self->state.deleting) complete_delete(self);
        });
      },
      [=](deadline_atom) {
        auto& rec = self->state.rec;
        if (terminal(rec.status.phase)) return;
        finish(self, "Failed", "DeadlineExceeded",
               "active deadline of " + std::to_string(*self->state.spec.active_deadline_seconds) +
                   "s exceeded");
        if (self->state.replica_active) {
          kill_replica(self, "deadline exceeded");
        } else {
          self->send(self->state.ctx.scheduler, cancel_atom::value, rec.status.replica);
        }
        persist(self);
      },
      [=](delete_atom) {
        // Answered by complete_delete once the replica is gone.
        self->state.delete_promise = self->make_response_promise();
        self->state.deleting = true;
        if (self->state.replica_active) {
          kill_replica(self, "job deleted");
          self->delayed_send(self, std::chrono::milliseconds(grace_ms(self) + 5000),
                             timeout_atom::value);
        } else {
          complete_delete(self);
        }
      },
      [=](timeout_atom) { complete_delete(self); },
      [=](get_atom) { return self->state.rec.status; },
      [=](where_atom) {
        const auto& rec = self->state.rec;
        ReplicaLocation loc;
        loc.found = !rec.status.node.empty();
        loc.node = rec.status.node;
        loc.epoch = rec.node_epoch;
        loc.uid = rec.status.replica;
        loc.finished = !self->state.replica_active && terminal(rec.status.phase);
        return loc;
      },
  };
}

}  // namespace

caf::actor spawn_job(caf::actor_system& system, ActorContext ctx, JobRecord record,
                     spec::JobSpec spec, bool restored) {
  return system.spawn(job, std::move(ctx), std::move(record), std::move(spec), restored);
}

}  // namespace cadre::actors

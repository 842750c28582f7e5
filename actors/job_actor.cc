// The supervisor actor of one Job or TrainJob: a thin shell over JobStateMachine
// (job_state_machine.h has the states and the durability rule). It turns messages
// into events, carries out the effects in order, and turns store answers — or their
// absence within the request timeout — back into events.
#include <spdlog/spdlog.h>

#include "actors/actors.h"
#include "actors/supervisor_shell.h"

namespace cadre::actors {
namespace job_shell {
namespace {

using protocol::MessageKind;

struct JobActorState {
  ActorContext ctx;
  std::unique_ptr<JobStateMachine> machine;
  PendingReplies deletes;
  PendingReplies suspends;  // answered with (Status, SuspendReply)
};

using Self = caf::stateful_actor<JobActorState>;

void carry_out(Self* self, JobEffects effects);

void store_record(Self* self, uint64_t seq) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self, seq](const Status& s) { carry_out(self, self->state.machine->on_stored(seq, s)); },
      put_atom::value, st.machine->record());
}

void erase_record(Self* self) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self](const Status& s) { carry_out(self, self->state.machine->on_erased(s)); },
      delete_atom::value, st.machine->name());
}

// One effect; the order of a batch is the machine's order.
void carry_out_one(Self* self, const JobEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  const auto& outbox = st.ctx.outbox;
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, job_effect::Persist>) {
          store_record(self, e.seq);
        } else if constexpr (std::is_same_v<E, job_effect::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary());
        } else if constexpr (std::is_same_v<E, job_effect::RecordEvent>) {
          log_event("job", name, e.event);
          self->send(st.ctx.store, event_atom::value, name, e.event);
        } else if constexpr (std::is_same_v<E, job_effect::RequestPlacement>) {
          self->send(st.ctx.scheduler, schedule_atom::value, e.gang,
                     caf::actor_cast<caf::actor>(self));
        } else if constexpr (std::is_same_v<E, job_effect::CancelPlacement>) {
          self->send(st.ctx.scheduler, cancel_atom::value, name);
        } else if constexpr (std::is_same_v<E, job_effect::Release>) {
          self->send(st.ctx.scheduler, release_atom::value, e.key);
        } else if constexpr (std::is_same_v<E, job_effect::Reserve>) {
          self->send(st.ctx.scheduler, reserve_atom::value, e.key, e.node, e.request, e.gpu_indices,
                     e.port, e.priority, e.preemptible, e.queue);
        } else if constexpr (std::is_same_v<E, job_effect::Launch>) {
          outbox->agent(e.node, e.epoch, MessageKind::kLaunchReplica, e.launch);
        } else if constexpr (std::is_same_v<E, job_effect::Kill>) {
          outbox->agent(e.node, e.epoch, MessageKind::kKillReplica, e.kill);
        } else if constexpr (std::is_same_v<E, job_effect::AckExit>) {
          outbox->agent(e.node, e.epoch, MessageKind::kReplicaExitedAck,
                        protocol::ReplicaExitedAck{e.uid});
        } else if constexpr (std::is_same_v<E, job_effect::StoreMetrics>) {
          self->send(st.ctx.store, metrics_atom::value, name, e.uid, e.samples);
        } else if constexpr (std::is_same_v<E, job_effect::ForwardMetrics>) {
          self->send(st.ctx.manager, metrics_atom::value, name, e.samples);
        } else if constexpr (std::is_same_v<E, job_effect::StartTimer>) {
          self->delayed_send(self, e.after, timer_atom::value, e.timer);
        } else if constexpr (std::is_same_v<E, job_effect::EraseRecord>) {
          erase_record(self);
        } else if constexpr (std::is_same_v<E, job_effect::AnswerDelete>) {
          for (uint64_t id : e.requests) st.deletes.answer(id, e.status);
        } else if constexpr (std::is_same_v<E, job_effect::AnswerSuspend>) {
          st.suspends.answer(e.request, e.status, protocol::SuspendReply{name, e.phase, e.changed});
        } else if constexpr (std::is_same_v<E, job_effect::RemoveFiles>) {
          self->send(st.ctx.registry, files_atom::value, e.files);
        } else if constexpr (std::is_same_v<E, job_effect::Stop>) {
          spdlog::info("job={} deleted", name);
          self->send(st.ctx.manager, gone_atom::value, name);
          self->quit();
        }
      },
      effect);
}

void carry_out(Self* self, JobEffects effects) {
  for (const auto& effect : effects) carry_out_one(self, effect);
}

caf::behavior job(Self* self, ActorContext ctx, JobRecord record, spec::TrainJobSpec spec,
                  bool restored) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  JobMachineOptions options;
  options.policy = st.ctx.policy;
  st.machine =
      std::make_unique<JobStateMachine>(std::move(record), std::move(spec), std::move(options));
  carry_out(self, restored ? st.machine->restore() : st.machine->create());
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("job supervisor {}: request failed: {}", actor->id(), caf::to_string(error));
  });
  auto machine = [self] { return self->state.machine.get(); };
  return {
      [=](placed_atom, int64_t attempt, const std::vector<Placement>& placements) {
        carry_out(self, machine()->on_placed(attempt, placements));
      },
      [=](never_atom, int64_t attempt, const std::string& reason, const std::string& why) {
        carry_out(self, machine()->on_never_fits(attempt, NeverFits{reason, why}));
      },
      [=](waiting_atom, int64_t attempt, const std::string& why) {
        carry_out(self, machine()->on_waiting(attempt, why));
      },
      [=](started_atom, const std::string& node, const protocol::ReplicaStarted& started) {
        carry_out(self, machine()->on_started(node, started));
      },
      [=](exited_atom, const std::string& node, const protocol::ReplicaExited& exit) {
        carry_out(self, machine()->on_exited(node, exit));
      },
      [=](metrics_atom, const protocol::MetricsReport& report) {
        carry_out(self, machine()->on_metrics(report));
      },
      [=](metrics_atom, step_atom, const std::vector<protocol::MetricSample>& samples) {
        carry_out(self, machine()->on_logged_metrics(samples));
      },
      [=](ready_atom, const std::string& node, const protocol::ReplicaReadiness& readiness) {
        carry_out(self, machine()->on_readiness(node, readiness));
      },
      [=](adopt_atom, const NodeReport& report) {
        carry_out(self, machine()->on_node_report(report));
      },
      [=](evict_atom, const std::string& node) { carry_out(self, machine()->on_evict(node)); },
      [=](preempt_atom, const std::string& by, const std::string& cause) {
        carry_out(self, machine()->on_preempt(by, cause));
      },
      [=](node_lost_atom, const std::string& node) {
        carry_out(self, machine()->on_node_lost(node));
      },
      [=](timer_atom, const JobTimer& timer) { carry_out(self, machine()->on_timer(timer)); },
      [=](delete_atom) {
        const uint64_t id = self->state.deletes.remember(self->make_response_promise());
        carry_out(self, machine()->on_delete(id));
      },
      [=](suspend_atom, bool suspend) {
        const uint64_t id = self->state.suspends.remember(self->make_response_promise());
        carry_out(self, machine()->on_suspend(id, suspend));
      },
      [=](suspend_atom, bool suspend, const std::string& manifest) {
        const uint64_t id = self->state.suspends.remember(self->make_response_promise());
        carry_out(self, machine()->on_suspend(id, suspend, manifest));
      },
      [=](stop_atom, const std::string& reason, const std::string& message) {
        carry_out(self, machine()->on_stop(reason, message));
      },
      [=](get_atom) { return machine()->status(); },
      [=](where_atom, const std::string& replica) { return machine()->locate(replica); },
  };
}

}  // namespace
}  // namespace job_shell

caf::actor spawn_job(caf::actor_system& system, ActorContext ctx, JobRecord record,
                     spec::TrainJobSpec spec, bool restored) {
  return system.spawn(job_shell::job, std::move(ctx), std::move(record), std::move(spec), restored);
}

}  // namespace cadre::actors

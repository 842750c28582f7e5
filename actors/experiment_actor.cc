// The supervisor actor of one Experiment: a thin shell over ExperimentStateMachine
// (experiment_state_machine.h has the states and the durability rule). Trial jobs
// are created, stopped and deleted by the manager on its behalf; their status and
// metrics come back through the manager.
#include <spdlog/spdlog.h>

#include "actors/actors.h"
#include "actors/supervisor_shell.h"

namespace cadre::actors {
namespace experiment_shell {
namespace {

struct ExperimentActorState {
  ActorContext ctx;
  std::shared_ptr<ExperimentStateMachine> machine;
  PendingReplies deletes;
};

using Self = caf::stateful_actor<ExperimentActorState>;

void carry_out(Self* self, ExperimentEffects effects);

void store_record(Self* self, uint64_t seq) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self, seq](const Status& s) { carry_out(self, self->state.machine->on_stored(seq, s)); },
      put_atom::value, st.machine->record());
}

void create_job(Self* self, const experiment_effect::CreateJob& e) {
  auto& st = self->state;
  const std::string owner = "experiment/" + st.machine->name();
  ask_status(
      self, st.ctx.manager, st.ctx.policy.request_timeout, "the manager",
      [self, job = e.job](const Status& s) {
        carry_out(self, self->state.machine->on_job_created(job, s));
      },
      trial_atom::value, e.job, e.yaml, e.checkpoint_name, owner, e.metrics);
}

void delete_job(Self* self, const std::string& job) {
  auto& st = self->state;
  // A delete waits out the replicas' grace period (as a client's does).
  const auto timeout =
      st.ctx.policy.request_timeout + st.ctx.policy.kill_grace + st.ctx.policy.lost_after;
  ask_status(
      self, st.ctx.manager, timeout, "the manager",
      [self, job](const Status& s) {
        carry_out(self, self->state.machine->on_job_deleted(job, s));
      },
      delete_atom::value, job);
}

void erase_record(Self* self) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self](const Status& s) { carry_out(self, self->state.machine->on_erased(s)); },
      delete_atom::value, experiment_atom::value, st.machine->name());
}

void carry_out_one(Self* self, const ExperimentEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, experiment_effect::Persist>) {
          store_record(self, e.seq);
        } else if constexpr (std::is_same_v<E, experiment_effect::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary());
        } else if constexpr (std::is_same_v<E, experiment_effect::RecordEvent>) {
          log_event("experiment", name, e.event);
          self->send(st.ctx.store, event_atom::value, experiment_events_key(name), e.event);
        } else if constexpr (std::is_same_v<E, experiment_effect::CreateJob>) {
          create_job(self, e);
        } else if constexpr (std::is_same_v<E, experiment_effect::StopJob>) {
          self->send(st.ctx.manager, stop_atom::value, e.job, e.reason, e.message);
        } else if constexpr (std::is_same_v<E, experiment_effect::DeleteJob>) {
          delete_job(self, e.job);
        } else if constexpr (std::is_same_v<E, experiment_effect::StartRetryTimer>) {
          self->delayed_send(self, e.after, timer_atom::value);
        } else if constexpr (std::is_same_v<E, experiment_effect::EraseRecord>) {
          erase_record(self);
        } else if constexpr (std::is_same_v<E, experiment_effect::AnswerDelete>) {
          for (uint64_t id : e.requests) st.deletes.answer(id, e.status);
        } else if constexpr (std::is_same_v<E, experiment_effect::Stop>) {
          spdlog::info("experiment={} deleted", name);
          self->send(st.ctx.manager, gone_atom::value, experiment_atom::value, name);
          self->quit();
        }
      },
      effect);
}

void carry_out(Self* self, ExperimentEffects effects) {
  for (const auto& effect : effects) carry_out_one(self, effect);
}

caf::behavior experiment(Self* self, ActorContext ctx,
                         std::shared_ptr<ExperimentStateMachine> machine_in) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.machine = std::move(machine_in);
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("experiment supervisor {}: request failed: {}", actor->id(),
                 caf::to_string(error));
  });
  auto machine = [self] { return self->state.machine.get(); };
  return {
      [=](start_atom) { carry_out(self, machine()->create()); },
      [=](adopt_atom, const std::map<std::string, protocol::JobStatus>& jobs,
          const std::map<std::string, std::vector<protocol::MetricSample>>& samples) {
        carry_out(self, machine()->restore(jobs, samples));
      },
      [=](status_atom, const protocol::JobStatus& job) {
        carry_out(self, machine()->on_job_status(job));
      },
      [=](metrics_atom, const std::string& job,
          const std::vector<protocol::MetricSample>& samples) {
        carry_out(self, machine()->on_metrics(job, samples));
      },
      [=](gone_atom, const std::string& job) { carry_out(self, machine()->on_job_gone(job)); },
      [=](timer_atom) { carry_out(self, machine()->on_retry_timer()); },
      [=](delete_atom) {
        const uint64_t id = self->state.deletes.remember(self->make_response_promise());
        carry_out(self, machine()->on_delete(id));
      },
      [=](get_atom) { return machine()->status(); },
  };
}

}  // namespace
}  // namespace experiment_shell

caf::actor spawn_experiment(caf::actor_system& system, ActorContext ctx,
                            std::shared_ptr<ExperimentStateMachine> machine) {
  // CAF 0.17 copies spawn arguments: the machine travels as a shared pointer.
  return system.spawn(experiment_shell::experiment, std::move(ctx), std::move(machine));
}

}  // namespace cadre::actors

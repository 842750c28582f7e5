// The supervisor actor of one Notebook: a thin shell over NotebookStateMachine
// (notebook_state_machine.h has the rules). Server jobs are created and deleted by
// the manager on its behalf; their status comes back through the manager, and its
// summary goes to the manager, which serves it to clients.
#include <spdlog/spdlog.h>

#include "actors/actors.h"
#include "actors/supervisor_shell.h"

namespace cadre::actors {
namespace notebook_shell {
namespace {

struct NotebookActorState {
  ActorContext ctx;
  std::shared_ptr<NotebookStateMachine> machine;
  PendingReplies requests;  // applies and deletes
};

using Self = caf::stateful_actor<NotebookActorState>;

void carry_out(Self* self, NotebookEffects effects);

void store_record(Self* self, uint64_t seq) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self, seq](const Status& s) { carry_out(self, self->state.machine->on_stored(seq, s)); },
      put_atom::value, st.machine->record());
}

void create_job(Self* self, const notebook_effect::CreateJob& e) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.manager, st.ctx.policy.request_timeout, "the manager",
      [self, job = e.job](const Status& s) {
        carry_out(self, self->state.machine->on_job_created(job, s));
      },
      notebook_atom::value, e.job, e.yaml, st.machine->name(), st.machine->record().token, e.node);
}

void delete_job(Self* self, const std::string& job) {
  auto& st = self->state;
  // A delete waits out the server's grace period (Jupyter shuts its kernels down).
  const auto timeout =
      st.ctx.policy.request_timeout + std::chrono::seconds(40) + st.ctx.policy.lost_after;
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
      delete_atom::value, notebook_atom::value, st.machine->name());
}

void carry_out_one(Self* self, const NotebookEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, notebook_effect::Persist>) {
          store_record(self, e.seq);
        } else if constexpr (std::is_same_v<E, notebook_effect::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary(),
                     st.machine->route());
        } else if constexpr (std::is_same_v<E, notebook_effect::RecordEvent>) {
          log_event("notebook", name, e.event);
          self->send(st.ctx.store, event_atom::value, notebook_events_key(name), e.event);
        } else if constexpr (std::is_same_v<E, notebook_effect::CreateJob>) {
          create_job(self, e);
        } else if constexpr (std::is_same_v<E, notebook_effect::DeleteJob>) {
          delete_job(self, e.job);
        } else if constexpr (std::is_same_v<E, notebook_effect::StartTimer>) {
          self->delayed_send(self, e.after, timer_atom::value);
        } else if constexpr (std::is_same_v<E, notebook_effect::AnswerApply>) {
          st.requests.answer(e.request, e.status, e.action);
        } else if constexpr (std::is_same_v<E, notebook_effect::EraseRecord>) {
          erase_record(self);
        } else if constexpr (std::is_same_v<E, notebook_effect::AnswerDelete>) {
          for (uint64_t id : e.requests) st.requests.answer(id, e.status);
        } else if constexpr (std::is_same_v<E, notebook_effect::Stop>) {
          spdlog::info("notebook={} deleted", name);
          self->send(st.ctx.manager, gone_atom::value, notebook_atom::value, name);
          self->quit();
        }
      },
      effect);
}

void carry_out(Self* self, NotebookEffects effects) {
  for (const auto& effect : effects) carry_out_one(self, effect);
}

caf::behavior notebook(Self* self, ActorContext ctx, std::shared_ptr<NotebookStateMachine> in) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.machine = std::move(in);
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("notebook supervisor {}: request failed: {}", actor->id(), caf::to_string(error));
  });
  auto machine = [self] { return self->state.machine.get(); };
  auto remember = [self] { return self->state.requests.remember(self->make_response_promise()); };
  return {
      [=](start_atom) { carry_out(self, machine()->create()); },
      [=](adopt_atom, const std::map<std::string, protocol::JobStatus>& jobs) {
        carry_out(self, machine()->restore(jobs));
      },
      [=](apply_atom, const NotebookApply& apply) {
        carry_out(self, machine()->on_apply(remember(), apply));
      },
      [=](status_atom, const protocol::JobStatus& job) {
        carry_out(self, machine()->on_job_status(job));
      },
      [=](gone_atom, const std::string& job) { carry_out(self, machine()->on_job_gone(job)); },
      [=](timer_atom) { carry_out(self, machine()->on_timer()); },
      [=](load_atom, const protocol::NotebookActivity& activity) {
        carry_out(self, machine()->on_activity(activity));
      },
      [=](delete_atom, bool purge) { carry_out(self, machine()->on_delete(remember(), purge)); },
      [=](get_atom) { return machine()->status(); },
  };
}

}  // namespace
}  // namespace notebook_shell

caf::actor spawn_notebook(caf::actor_system& system, ActorContext ctx,
                          std::shared_ptr<NotebookStateMachine> machine) {
  // CAF 0.17 copies spawn arguments: the machine travels as a shared pointer.
  return system.spawn(notebook_shell::notebook, std::move(ctx), std::move(machine));
}

}  // namespace cadre::actors

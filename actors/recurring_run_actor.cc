// The supervisor actor of one RecurringRun: a thin shell over
// RecurringRunStateMachine (recurring_run_state_machine.h has the rules). Runs
// are created by the manager on its behalf, as a client's would be.
#include <spdlog/spdlog.h>

#include "actors/actors.h"
#include "actors/supervisor_shell.h"

namespace cadre::actors {
namespace recurring_run_shell {
namespace {

struct RecurringRunActorState {
  ActorContext ctx;
  std::shared_ptr<RecurringRunStateMachine> machine;
  PendingReplies deletes;
};

using Self = caf::stateful_actor<RecurringRunActorState>;

void carry_out(Self* self, RecurringRunEffects effects);

void start_run(Self* self, const recurring_run_effect::StartRun& e) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.manager, st.ctx.policy.request_timeout, "the manager",
      [self, run = e.run](const Status& s) {
        carry_out(self, self->state.machine->on_run_started(run, s));
      },
      apply_atom::value, recurring_atom::value, e.yaml, st.machine->name(), e.scheduled_ms);
}

void count_active(Self* self) {
  auto& st = self->state;
  self->request(st.ctx.manager, st.ctx.policy.request_timeout, get_atom::value,
                recurring_atom::value, st.machine->name())
      .then(
          [=](int32_t unfinished) { carry_out(self, self->state.machine->on_active(unfinished)); },
          [=](const caf::error& error) {
            // Counted as full: look again after the machine's recheck.
            spdlog::warn("recurringrun={} the manager did not answer: {}",
                         self->state.machine->name(), caf::to_string(error));
            carry_out(self, self->state.machine->on_active(INT32_MAX));
          });
}

void carry_out_one(Self* self, const RecurringRunEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, recurring_run_effect::Persist>) {
          self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value,
                        st.machine->record())
              .then(
                  [=](const Status& stored) {
                    if (!stored.ok()) {
                      spdlog::warn("recurringrun={} not stored: {}", name, stored.to_string());
                    }
                  },
                  [=](const caf::error& error) {
                    spdlog::warn("recurringrun={} not stored: {}", name, caf::to_string(error));
                  });
        } else if constexpr (std::is_same_v<E, recurring_run_effect::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary());
        } else if constexpr (std::is_same_v<E, recurring_run_effect::RecordEvent>) {
          log_event("recurringrun", name, e.event);
          self->send(st.ctx.store, event_atom::value, recurring_run_events_key(name), e.event);
        } else if constexpr (std::is_same_v<E, recurring_run_effect::CountActive>) {
          count_active(self);
        } else if constexpr (std::is_same_v<E, recurring_run_effect::StartRun>) {
          start_run(self, e);
        } else if constexpr (std::is_same_v<E, recurring_run_effect::StartTimer>) {
          self->delayed_send(self, e.after, timer_atom::value);
        } else if constexpr (std::is_same_v<E, recurring_run_effect::EraseRecord>) {
          ask_status(
              self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
              [self](const Status& s) { carry_out(self, self->state.machine->on_erased(s)); },
              delete_atom::value, recurring_atom::value, name);
        } else if constexpr (std::is_same_v<E, recurring_run_effect::AnswerDelete>) {
          for (uint64_t id : e.requests) st.deletes.answer(id, e.status);
        } else if constexpr (std::is_same_v<E, recurring_run_effect::Stop>) {
          spdlog::info("recurringrun={} deleted", name);
          self->send(st.ctx.manager, gone_atom::value, recurring_atom::value, name);
          self->quit();
        }
      },
      effect);
}

void carry_out(Self* self, RecurringRunEffects effects) {
  for (const auto& effect : effects) carry_out_one(self, effect);
}

caf::behavior recurring_run(Self* self, ActorContext ctx,
                            std::shared_ptr<RecurringRunStateMachine> machine_in) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.machine = std::move(machine_in);
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("recurring run supervisor {}: request failed: {}", actor->id(),
                 caf::to_string(error));
  });
  auto machine = [self] { return self->state.machine.get(); };
  return {
      [=](start_atom) { carry_out(self, machine()->start()); },
      [=](timer_atom) { carry_out(self, machine()->on_timer()); },
      [=](apply_atom, const std::shared_ptr<const spec::RecurringRunSpec>& spec,
          const std::string& manifest) {
        carry_out(self, machine()->on_update(spec, manifest));
        return Status::Ok();
      },
      [=](delete_atom) {
        const uint64_t id = self->state.deletes.remember(self->make_response_promise());
        carry_out(self, machine()->on_delete(id));
      },
      [=](get_atom) { return machine()->record(); },
  };
}

}  // namespace
}  // namespace recurring_run_shell

caf::actor spawn_recurring_run(caf::actor_system& system, ActorContext ctx,
                               std::shared_ptr<RecurringRunStateMachine> machine) {
  return system.spawn(recurring_run_shell::recurring_run, std::move(ctx), std::move(machine));
}

}  // namespace cadre::actors

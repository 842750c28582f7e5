// The supervisor actor of one InferenceService: a thin shell over
// ServiceStateMachine (service_state_machine.h has the rules). Replica jobs are
// created and deleted by the manager on its behalf; their status comes back
// through the manager, and its summary and routes go to the manager, which serves
// them to clients and ingresses.
#include <spdlog/spdlog.h>

#include "actors/actors.h"
#include "actors/supervisor_shell.h"

namespace cadre::actors {
namespace service_shell {
namespace {

struct ServiceActorState {
  ActorContext ctx;
  std::shared_ptr<ServiceStateMachine> machine;
  PendingReplies requests;  // applies and deletes
};

using Self = caf::stateful_actor<ServiceActorState>;

void carry_out(Self* self, ServiceEffects effects);

void store_record(Self* self, uint64_t seq) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self, seq](const Status& s) { carry_out(self, self->state.machine->on_stored(seq, s)); },
      put_atom::value, st.machine->record());
}

void create_job(Self* self, const service_effect::CreateJob& e) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.manager, st.ctx.policy.request_timeout, "the manager",
      [self, job = e.job](const Status& s) {
        carry_out(self, self->state.machine->on_job_created(job, s));
      },
      replica_atom::value, e.job, e.yaml, st.machine->name(), st.machine->record().token);
}

void delete_job(Self* self, const std::string& job) {
  auto& st = self->state;
  // A delete waits out the replica's grace period (cadre-serve finishes what it holds).
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
      delete_atom::value, service_atom::value, st.machine->name());
}

void carry_out_one(Self* self, const ServiceEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, service_effect::Persist>) {
          store_record(self, e.seq);
        } else if constexpr (std::is_same_v<E, service_effect::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary(),
                     st.machine->route());
        } else if constexpr (std::is_same_v<E, service_effect::RecordEvent>) {
          log_event("inferenceservice", name, e.event);
          self->send(st.ctx.store, event_atom::value, service_events_key(name), e.event);
        } else if constexpr (std::is_same_v<E, service_effect::CreateJob>) {
          create_job(self, e);
        } else if constexpr (std::is_same_v<E, service_effect::DeleteJob>) {
          delete_job(self, e.job);
        } else if constexpr (std::is_same_v<E, service_effect::StartTimer>) {
          self->delayed_send(self, e.after, timer_atom::value, e.job, e.eviction);
        } else if constexpr (std::is_same_v<E, service_effect::AnswerApply>) {
          st.requests.answer(e.request, e.status, e.action);
        } else if constexpr (std::is_same_v<E, service_effect::EraseRecord>) {
          erase_record(self);
        } else if constexpr (std::is_same_v<E, service_effect::AnswerDelete>) {
          for (uint64_t id : e.requests) st.requests.answer(id, e.status);
        } else if constexpr (std::is_same_v<E, service_effect::Scaled>) {
          if (st.ctx.metrics) st.ctx.metrics->scaled(name, e.to > e.from);
        } else if constexpr (std::is_same_v<E, service_effect::Stop>) {
          spdlog::info("inferenceservice={} deleted", name);
          self->send(st.ctx.manager, gone_atom::value, service_atom::value, name);
          self->quit();
        }
      },
      effect);
}

void carry_out(Self* self, ServiceEffects effects) {
  for (const auto& effect : effects) carry_out_one(self, effect);
}

caf::behavior service(Self* self, ActorContext ctx, std::shared_ptr<ServiceStateMachine> in) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.machine = std::move(in);
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("service supervisor {}: request failed: {}", actor->id(), caf::to_string(error));
  });
  auto machine = [self] { return self->state.machine.get(); };
  auto remember = [self] { return self->state.requests.remember(self->make_response_promise()); };
  return {
      [=](start_atom) { carry_out(self, machine()->create()); },
      [=](adopt_atom, const std::map<std::string, protocol::JobStatus>& jobs) {
        carry_out(self, machine()->restore(jobs));
      },
      [=](apply_atom, const ServiceApply& apply) {
        carry_out(self, machine()->on_apply(remember(), apply));
      },
      [=](status_atom, const protocol::JobStatus& job) {
        carry_out(self, machine()->on_job_status(job));
      },
      [=](gone_atom, const std::string& job) { carry_out(self, machine()->on_job_gone(job)); },
      [=](timer_atom, const std::string& job, bool eviction) {
        carry_out(self, machine()->on_timer(job, eviction));
      },
      [=](evict_atom, const std::string& job) { carry_out(self, machine()->on_evict(job)); },
      [=](load_atom, const std::string& source, const std::string& revision, double concurrency,
          double rps) { carry_out(self, machine()->on_load(source, revision, concurrency, rps)); },
      [=](ingress_atom, bool connected, const std::string& url) {
        carry_out(self, machine()->on_ingress(connected, url));
      },
      [=](delete_atom) { carry_out(self, machine()->on_delete(remember())); },
      [=](get_atom) { return machine()->status(); },
  };
}

}  // namespace
}  // namespace service_shell

caf::actor spawn_service(caf::actor_system& system, ActorContext ctx,
                         std::shared_ptr<ServiceStateMachine> machine) {
  // CAF 0.17 copies spawn arguments: the machine travels as a shared pointer.
  return system.spawn(service_shell::service, std::move(ctx), std::move(machine));
}

}  // namespace cadre::actors

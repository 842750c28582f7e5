// The supervisor actor of one InferenceService: a thin shell over
// ServiceStateMachine (service_state_machine.h has the rules). Replica jobs are
// created and deleted by the manager on its behalf; their status comes back
// through the manager, and its summary and routes go to the manager, which serves
// them to clients and ingresses.
#include <spdlog/spdlog.h>

#include "actors/actors.h"

namespace cadre::actors {
namespace {

namespace fx = service_effect;

struct ServiceActorState {
  ActorContext ctx;
  std::shared_ptr<ServiceStateMachine> machine;
  std::map<uint64_t, caf::response_promise> requests;  // applies and deletes, by id
  uint64_t next_request = 1;
};

using Self = caf::stateful_actor<ServiceActorState>;

void carry_out(Self* self, ServiceEffects effects);

Status request_failed(const std::string& what, const caf::error& error) {
  return Unavailable(what + ": " + caf::to_string(error));
}

void store_record(Self* self, uint64_t seq) {
  auto& st = self->state;
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, st.machine->record())
      .then(
          [=](const Status& status) {
            carry_out(self, self->state.machine->on_stored(seq, status));
          },
          [=](const caf::error& error) {
            carry_out(self, self->state.machine->on_stored(
                                seq, request_failed("the store did not answer", error)));
          });
}

void create_job(Self* self, const fx::CreateJob& e) {
  auto& st = self->state;
  self->request(st.ctx.manager, st.ctx.policy.request_timeout, replica_atom::value, e.job, e.yaml,
                st.machine->name(), st.machine->record().token)
      .then(
          [=](const Status& status) {
            carry_out(self, self->state.machine->on_job_created(e.job, status));
          },
          [=](const caf::error& error) {
            carry_out(self, self->state.machine->on_job_created(
                                e.job, request_failed("the manager did not answer", error)));
          });
}

void delete_job(Self* self, const std::string& job) {
  auto& st = self->state;
  // A delete waits out the replica's grace period (cadre-serve finishes what it holds).
  const auto timeout =
      st.ctx.policy.request_timeout + std::chrono::seconds(40) + st.ctx.policy.lost_after;
  self->request(st.ctx.manager, timeout, delete_atom::value, job)
      .then(
          [=](const Status& status) {
            carry_out(self, self->state.machine->on_job_deleted(job, status));
          },
          [=](const caf::error& error) {
            carry_out(self, self->state.machine->on_job_deleted(
                                job, request_failed("the manager did not answer", error)));
          });
}

void erase_record(Self* self) {
  auto& st = self->state;
  self->request(st.ctx.store, st.ctx.policy.request_timeout, delete_atom::value,
                service_atom::value, st.machine->name())
      .then([=](const Status& status) { carry_out(self, self->state.machine->on_erased(status)); },
            [=](const caf::error& error) {
              carry_out(self, self->state.machine->on_erased(
                                  request_failed("the store did not answer", error)));
            });
}

void answer(Self* self, uint64_t id, caf::message reply) {
  auto it = self->state.requests.find(id);
  if (it == self->state.requests.end()) return;
  it->second.deliver(std::move(reply));
  self->state.requests.erase(it);
}

void carry_out_one(Self* self, const ServiceEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, fx::Persist>) {
          store_record(self, e.seq);
        } else if constexpr (std::is_same_v<E, fx::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary(),
                     st.machine->route());
        } else if constexpr (std::is_same_v<E, fx::RecordEvent>) {
          if (e.event.type == protocol::EventType::kWarning) {
            spdlog::warn("inferenceservice={} {}: {}", name, e.event.reason, e.event.message);
          } else {
            spdlog::info("inferenceservice={} {}: {}", name, e.event.reason, e.event.message);
          }
          self->send(st.ctx.store, event_atom::value, service_events_key(name), e.event);
        } else if constexpr (std::is_same_v<E, fx::CreateJob>) {
          create_job(self, e);
        } else if constexpr (std::is_same_v<E, fx::DeleteJob>) {
          delete_job(self, e.job);
        } else if constexpr (std::is_same_v<E, fx::StartTimer>) {
          self->delayed_send(self, e.after, timer_atom::value, e.job);
        } else if constexpr (std::is_same_v<E, fx::AnswerApply>) {
          answer(self, e.request, caf::make_message(e.status, e.action));
        } else if constexpr (std::is_same_v<E, fx::EraseRecord>) {
          erase_record(self);
        } else if constexpr (std::is_same_v<E, fx::AnswerDelete>) {
          for (uint64_t id : e.requests) answer(self, id, caf::make_message(e.status));
        } else if constexpr (std::is_same_v<E, fx::Scaled>) {
          if (st.ctx.metrics) st.ctx.metrics->scaled(name, e.to > e.from);
        } else if constexpr (std::is_same_v<E, fx::Stop>) {
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
  auto remember = [self] {
    const uint64_t id = self->state.next_request++;
    self->state.requests.emplace(id, self->make_response_promise());
    return id;
  };
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
      [=](timer_atom, const std::string& job) { carry_out(self, machine()->on_timer(job)); },
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

caf::actor spawn_service(caf::actor_system& system, ActorContext ctx,
                         std::shared_ptr<ServiceStateMachine> machine) {
  // CAF 0.17 copies spawn arguments: the machine travels as a shared pointer.
  return system.spawn(service, std::move(ctx), std::move(machine));
}

}  // namespace cadre::actors

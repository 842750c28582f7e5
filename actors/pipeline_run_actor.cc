// The supervisor actor of one pipeline run: a thin shell over
// PipelineRunStateMachine (pipeline_run_state_machine.h has the states and the
// durability rule). Step jobs are created and deleted by the manager on its
// behalf; their status comes back through the manager. A step's outputs are small
// bounded files, read here (task_output_reader.h) without leaving the actor.
#include <spdlog/spdlog.h>

#include "actors/actors.h"
#include "pipelines/step_job.h"
#include "pipelines/task_output_reader.h"

namespace cadre::actors {
namespace {

namespace fx = pipeline_run_effect;

struct PipelineRunActorState {
  ActorContext ctx;
  std::shared_ptr<PipelineRunStateMachine> machine;
  std::map<uint64_t, caf::response_promise> deletes;  // by the id handed to on_delete
  uint64_t next_delete = 1;
  std::map<uint64_t, caf::response_promise> retries;  // by the id handed to on_retry
  uint64_t next_retry = 1;
};

using Self = caf::stateful_actor<PipelineRunActorState>;

void carry_out(Self* self, PipelineRunEffects effects);

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
  const std::string owner = "run/" + st.machine->name();
  self->request(st.ctx.manager, st.ctx.policy.request_timeout, trial_atom::value, e.job, e.yaml,
                e.folder, owner, protocol::MetricsCollection{})
      .then(
          [=](const Status& status) {
            carry_out(self, self->state.machine->on_job_created(e.job, status));
          },
          [=](const caf::error& error) {
            carry_out(self, self->state.machine->on_job_created(
                                e.job, request_failed("the manager did not answer", error)));
          });
}

void apply_workload(Self* self, const fx::ApplyWorkload& e) {
  auto& st = self->state;
  auto applied = [=](const Status& status) {
    carry_out(self, self->state.machine->on_workload_applied(e.ref, status));
  };
  auto unanswered = [=](const caf::error& error) {
    carry_out(self, self->state.machine->on_workload_applied(
                        e.ref, request_failed("the manager did not answer", error)));
  };
  if (pipelines::is_service_job(e.ref)) {
    self->request(st.ctx.manager, st.ctx.policy.request_timeout, apply_atom::value,
                  service_atom::value, e.yaml)
        .then(applied, unanswered);
  } else {
    self->request(st.ctx.manager, st.ctx.policy.request_timeout, apply_atom::value,
                  experiment_atom::value, e.yaml, st.machine->name())
        .then(applied, unanswered);
  }
}

template <typename S>
Result<S> found(const Status& status, const S& value) {
  return status.ok() ? Result<S>(value) : Result<S>(status);
}

void watch_workload(Self* self, const std::string& ref) {
  auto& st = self->state;
  auto unanswered = [=](const caf::error& error) {
    // No answer this time: look again (a deploy's timeout still bounds it).
    spdlog::warn("run={} the manager did not answer about {}: {}", self->state.machine->name(), ref,
                 caf::to_string(error));
    self->delayed_send(self, std::chrono::seconds(1), watch_atom::value, ref);
  };
  const std::string name = pipelines::workload_name_of(ref);
  if (pipelines::is_service_job(ref)) {
    self->request(st.ctx.manager, st.ctx.policy.request_timeout, get_atom::value,
                  service_atom::value, name)
        .then(
            [=](const Status& status, const protocol::InferenceServiceStatus& service) {
              carry_out(self, self->state.machine->on_service_status(name, found(status, service)));
            },
            unanswered);
  } else {
    self->request(st.ctx.manager, st.ctx.policy.request_timeout, get_atom::value,
                  experiment_atom::value, name)
        .then(
            [=](const Status& status, const protocol::ExperimentStatus& experiment) {
              carry_out(self,
                        self->state.machine->on_experiment_status(name, found(status, experiment)));
            },
            unanswered);
  }
}

void delete_job(Self* self, const std::string& job) {
  auto& st = self->state;
  // A delete waits out the replica's grace period (as a client's does).
  // (An experiment's trials each do, in parallel.)
  const auto timeout =
      3 * (st.ctx.policy.request_timeout + st.ctx.policy.kill_grace + st.ctx.policy.lost_after);
  // Only what this run made: its jobs, and its tuning steps' experiments.
  const std::string name =
      pipelines::is_experiment_job(job) ? pipelines::workload_name_of(job) : job;
  self->request(st.ctx.manager, timeout, delete_atom::value, run_atom::value, name,
                st.machine->name())
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
  self->request(st.ctx.store, st.ctx.policy.request_timeout, delete_atom::value, run_atom::value,
                st.machine->name())
      .then([=](const Status& status) { carry_out(self, self->state.machine->on_erased(status)); },
            [=](const caf::error& error) {
              carry_out(self, self->state.machine->on_erased(
                                  request_failed("the store did not answer", error)));
            });
}

void carry_out_one(Self* self, const PipelineRunEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, fx::Persist>) {
          store_record(self, e.seq);
        } else if constexpr (std::is_same_v<E, fx::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary());
        } else if constexpr (std::is_same_v<E, fx::RecordEvent>) {
          if (e.event.type == protocol::EventType::kWarning) {
            spdlog::warn("run={} {}: {}", name, e.event.reason, e.event.message);
          } else {
            spdlog::info("run={} {}: {}", name, e.event.reason, e.event.message);
          }
          self->send(st.ctx.store, event_atom::value, run_events_key(name), e.event);
        } else if constexpr (std::is_same_v<E, fx::CreateJob>) {
          create_job(self, e);
        } else if constexpr (std::is_same_v<E, fx::ApplyWorkload>) {
          apply_workload(self, e);
        } else if constexpr (std::is_same_v<E, fx::WatchWorkload>) {
          self->delayed_send(self, e.after, watch_atom::value, e.ref);
        } else if constexpr (std::is_same_v<E, fx::DeleteJob>) {
          delete_job(self, e.job);
        } else if constexpr (std::is_same_v<E, fx::ReadOutputs>) {
          // Answered through the mailbox, so the machine never re-enters itself.
          self->send(self, outputs_atom::value, e.read.task_id,
                     pipelines::read_task_outputs(e.read));
        } else if constexpr (std::is_same_v<E, fx::RecordExecutions>) {
          self->send(st.ctx.manager, cache_atom::value, st.machine->record().pipeline,
                     e.executions);
        } else if constexpr (std::is_same_v<E, fx::RecordStepMetrics>) {
          self->send(st.ctx.manager, metrics_atom::value, step_atom::value,
                     protocol::MetricsReport{"", e.job, e.samples});
        } else if constexpr (std::is_same_v<E, fx::StartTimer>) {
          self->delayed_send(self, e.after, timer_atom::value);
        } else if constexpr (std::is_same_v<E, fx::EraseRecord>) {
          erase_record(self);
        } else if constexpr (std::is_same_v<E, fx::AnswerDelete>) {
          for (uint64_t id : e.requests) {
            auto it = st.deletes.find(id);
            if (it == st.deletes.end()) continue;
            it->second.deliver(e.status);
            st.deletes.erase(it);
          }
        } else if constexpr (std::is_same_v<E, fx::AnswerRetry>) {
          auto it = st.retries.find(e.request);
          if (it == st.retries.end()) return;
          it->second.deliver(e.status, e.tasks_reset);
          st.retries.erase(it);
        } else if constexpr (std::is_same_v<E, fx::Stop>) {
          spdlog::info("run={} deleted", name);
          self->send(st.ctx.manager, gone_atom::value, run_atom::value, name);
          self->quit();
        }
      },
      effect);
}

void carry_out(Self* self, PipelineRunEffects effects) {
  for (const auto& effect : effects) carry_out_one(self, effect);
}

caf::behavior pipeline_run(Self* self, ActorContext ctx,
                           std::shared_ptr<PipelineRunStateMachine> machine_in) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.machine = std::move(machine_in);
  self->set_error_handler([](caf::scheduled_actor* actor, caf::error& error) {
    spdlog::warn("pipeline run supervisor {}: request failed: {}", actor->id(),
                 caf::to_string(error));
  });
  auto machine = [self] { return self->state.machine.get(); };
  return {
      [=](start_atom) { carry_out(self, machine()->create()); },
      [=](adopt_atom, const std::map<std::string, protocol::JobStatus>& jobs) {
        carry_out(self, machine()->restore(jobs));
      },
      [=](status_atom, const protocol::JobStatus& job) {
        carry_out(self, machine()->on_job_status(job));
      },
      [=](gone_atom, const std::string& job) { carry_out(self, machine()->on_job_gone(job)); },
      [=](outputs_atom, const std::string& task, const pipelines::TaskOutputFiles& files) {
        carry_out(self, machine()->on_outputs(task, files));
      },
      [=](timer_atom) { carry_out(self, machine()->on_timer()); },
      [=](watch_atom, const std::string& ref) { watch_workload(self, ref); },
      [=](delete_atom) {
        const uint64_t id = self->state.next_delete++;
        self->state.deletes.emplace(id, self->make_response_promise());
        carry_out(self, machine()->on_delete(id));
      },
      [=](retry_atom) {
        const uint64_t id = self->state.next_retry++;
        self->state.retries.emplace(id, self->make_response_promise());
        carry_out(self, machine()->on_retry(id));
      },
      [=](get_atom) { return machine()->record(); },
  };
}

}  // namespace

caf::actor spawn_pipeline_run(caf::actor_system& system, ActorContext ctx,
                              std::shared_ptr<PipelineRunStateMachine> machine) {
  return system.spawn(pipeline_run, std::move(ctx), std::move(machine));
}

}  // namespace cadre::actors

// The supervisor actor of one pipeline run: a thin shell over
// PipelineRunStateMachine (pipeline_run_state_machine.h has the states and the
// durability rule). Step jobs are created and deleted by the manager on its
// behalf; their status comes back through the manager. A step's outputs are small
// bounded files, read here (task_output_reader.h) without leaving the actor.
#include <spdlog/spdlog.h>

#include "actors/actors.h"
#include "actors/supervisor_shell.h"
#include "pipelines/step_job.h"
#include "pipelines/task_output_reader.h"

namespace cadre::actors {
namespace pipeline_run_shell {
namespace {

struct PipelineRunActorState {
  ActorContext ctx;
  std::shared_ptr<PipelineRunStateMachine> machine;
  PendingReplies deletes;
  PendingReplies retries;
};

using Self = caf::stateful_actor<PipelineRunActorState>;

void carry_out(Self* self, PipelineRunEffects effects);

void store_record(Self* self, uint64_t seq) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self, seq](const Status& s) { carry_out(self, self->state.machine->on_stored(seq, s)); },
      put_atom::value, st.machine->record());
}

void create_job(Self* self, const pipeline_run_effect::CreateJob& e) {
  auto& st = self->state;
  const std::string owner = "run/" + st.machine->name();
  ask_status(
      self, st.ctx.manager, st.ctx.policy.request_timeout, "the manager",
      [self, job = e.job](const Status& s) {
        carry_out(self, self->state.machine->on_job_created(job, s));
      },
      trial_atom::value, e.job, e.yaml, e.folder, owner, protocol::MetricsCollection{});
}

void apply_workload(Self* self, const pipeline_run_effect::ApplyWorkload& e) {
  auto& st = self->state;
  auto applied = [self, ref = e.ref](const Status& s) {
    carry_out(self, self->state.machine->on_workload_applied(ref, s));
  };
  if (pipelines::is_service_job(e.ref)) {
    ask_status(self, st.ctx.manager, st.ctx.policy.request_timeout, "the manager", applied,
               apply_atom::value, service_atom::value, e.yaml);
  } else {
    ask_status(self, st.ctx.manager, st.ctx.policy.request_timeout, "the manager", applied,
               apply_atom::value, experiment_atom::value, e.yaml, st.machine->name());
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
  ask_status(
      self, st.ctx.manager, timeout, "the manager",
      [self, job](const Status& s) {
        carry_out(self, self->state.machine->on_job_deleted(job, s));
      },
      delete_atom::value, run_atom::value, name, st.machine->name());
}

void erase_record(Self* self) {
  auto& st = self->state;
  ask_status(
      self, st.ctx.store, st.ctx.policy.request_timeout, "the store",
      [self](const Status& s) { carry_out(self, self->state.machine->on_erased(s)); },
      delete_atom::value, run_atom::value, st.machine->name());
}

void carry_out_one(Self* self, const PipelineRunEffect& effect) {
  auto& st = self->state;
  const std::string& name = st.machine->name();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, pipeline_run_effect::Persist>) {
          store_record(self, e.seq);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::PublishSummary>) {
          self->send(st.ctx.manager, status_atom::value, st.machine->summary());
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::RecordEvent>) {
          log_event("run", name, e.event);
          self->send(st.ctx.store, event_atom::value, run_events_key(name), e.event);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::CreateJob>) {
          create_job(self, e);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::ApplyWorkload>) {
          apply_workload(self, e);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::WatchWorkload>) {
          self->delayed_send(self, e.after, watch_atom::value, e.ref);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::DeleteJob>) {
          delete_job(self, e.job);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::ReadOutputs>) {
          // Answered through the mailbox, so the machine never re-enters itself.
          self->send(self, outputs_atom::value, e.read.task_id,
                     pipelines::read_task_outputs(e.read));
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::RecordExecutions>) {
          self->send(st.ctx.manager, cache_atom::value, st.machine->record().pipeline,
                     e.executions);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::RecordStepMetrics>) {
          self->send(st.ctx.manager, metrics_atom::value, step_atom::value,
                     protocol::MetricsReport{"", e.job, e.samples});
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::StartTimer>) {
          self->delayed_send(self, e.after, timer_atom::value);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::EraseRecord>) {
          erase_record(self);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::AnswerDelete>) {
          for (uint64_t id : e.requests) st.deletes.answer(id, e.status);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::AnswerRetry>) {
          st.retries.answer(e.request, e.status, e.tasks_reset);
        } else if constexpr (std::is_same_v<E, pipeline_run_effect::Stop>) {
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
        const uint64_t id = self->state.deletes.remember(self->make_response_promise());
        carry_out(self, machine()->on_delete(id));
      },
      [=](retry_atom) {
        const uint64_t id = self->state.retries.remember(self->make_response_promise());
        carry_out(self, machine()->on_retry(id));
      },
      [=](get_atom) { return machine()->record(); },
  };
}

}  // namespace
}  // namespace pipeline_run_shell

caf::actor spawn_pipeline_run(caf::actor_system& system, ActorContext ctx,
                              std::shared_ptr<PipelineRunStateMachine> machine) {
  return system.spawn(pipeline_run_shell::pipeline_run, std::move(ctx), std::move(machine));
}

}  // namespace cadre::actors

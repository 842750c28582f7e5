// The supervisor of one pipeline run as a pure state machine: events in, effects
// out, no CAF (STYLE.md §12). pipeline_run_actor.cc is the thin shell; the manager
// creates and deletes the step jobs it asks for and forwards their status here.
// The DAG semantics are pipelines/run_driver.h's; this adds durability and jobs.
//
// clang-format off
//   PENDING --created and stored---------------------------------> RUNNING
//   RUNNING --every task of the root DAG finished, none failed---> SUCCEEDED
//   RUNNING --a task failed (after its retries) and the rest ended-> FAILED
//   RUNNING --deleted (cadre delete run/R)------------------------> CANCELED, then erased
// clang-format on
//
// Durability as for jobs and experiments (write_barrier.h): the record names a
// step's job before the job is created, and the job is created only once that
// record is stored. A step's outputs are read as soon as its job succeeded (a read
// changes nothing, so it waits for no write). After a coordinator restart, a stored step whose job
// exists is adopted, one whose job does not is created again under the same name, and a step whose
// outputs were being read is read again: no step runs twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "actors/cluster_policy.h"
#include "actors/write_barrier.h"
#include "pipelines/run_driver.h"
#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::actors {

namespace pipeline_run_effect {
struct Persist {  // write record(); answer with on_stored(seq, status)
  uint64_t seq = 0;
};
struct PublishSummary {};  // the manager's list cache gets summary()
struct RecordEvent {
  protocol::JobEvent event;
};
// Create a step's job (answer with on_job_created); its checkpoint folder is `folder`.
struct CreateJob {
  std::string job;
  std::string yaml;
  std::string folder;
};
// Apply what a step runs that is not a job: "inferenceservice/<name>" (created,
// or given a new revision) or "experiment/<run>-<n>"; answer with
// on_workload_applied.
struct ApplyWorkload {
  std::string ref;
  std::string yaml;
};
// Look at it after `after`; answer with on_service_status or on_experiment_status.
struct WatchWorkload {
  std::string ref;
  std::chrono::milliseconds after{0};
};
struct DeleteJob {  // answer with on_job_deleted
  std::string job;
};
struct ReadOutputs {  // read the task's files; answer with on_outputs
  pipelines::OutputRead read;
};
struct StartTimer {  // call on_timer after this long
  std::chrono::milliseconds after{0};
};
// Steps that succeeded (stored): the manager's cache of the pipeline's executions.
struct RecordExecutions {
  std::vector<pipelines::CachedExecution> executions;
};
// What a succeeded step logged into its Metrics artifact (stored): recorded as
// its job's metrics, the leader's, beside what the job printed.
struct RecordStepMetrics {
  std::string job;
  std::vector<protocol::MetricSample> samples;
};
struct EraseRecord {};  // delete the run from the store; answer with on_erased
struct AnswerDelete {
  std::vector<uint64_t> requests;
  Status status;
};
struct AnswerRetry {
  uint64_t request = 0;
  Status status;
  int32_t tasks_reset = 0;
};
struct Stop {};  // the run is gone: the shell tells the manager and quits
}  // namespace pipeline_run_effect

using PipelineRunEffect =
    std::variant<pipeline_run_effect::Persist, pipeline_run_effect::PublishSummary,
                 pipeline_run_effect::RecordEvent, pipeline_run_effect::CreateJob,
                 pipeline_run_effect::ApplyWorkload, pipeline_run_effect::WatchWorkload,
                 pipeline_run_effect::DeleteJob, pipeline_run_effect::ReadOutputs,
                 pipeline_run_effect::StartTimer, pipeline_run_effect::RecordExecutions,
                 pipeline_run_effect::RecordStepMetrics, pipeline_run_effect::EraseRecord,
                 pipeline_run_effect::AnswerDelete, pipeline_run_effect::AnswerRetry,
                 pipeline_run_effect::Stop>;
using PipelineRunEffects = std::vector<PipelineRunEffect>;

struct PipelineRunMachineOptions {
  StoreRetryPolicy store_retry;
  std::function<int64_t()> now_ms;  // wall clock; default wall_ms()
  std::string checkpoint_root;      // tasks' folders: <root>/<namespace>/_pipelines/<run>/<task>
  // The pipeline's succeeded executions when the run starts, by fingerprint; the
  // run adds its own as they succeed.
  std::map<std::string, pipelines::CachedExecution> cache;
  // A deploy step fails when its revision is not ready this long after it was applied.
  std::chrono::milliseconds deploy_timeout = std::chrono::minutes(10);
  std::chrono::milliseconds service_poll = std::chrono::milliseconds(250);
};

// A run's folder under <checkpoint root>/<namespace>: its tasks' folders are below.
std::string pipeline_run_folder(const std::string& run);

class PipelineRunStateMachine {
 public:
  PipelineRunStateMachine(protocol::PipelineRunStatus record,
                          std::shared_ptr<const spec::PipelineSpec> spec,
                          PipelineRunMachineOptions options);

  // Exactly one of these starts the machine.
  PipelineRunEffects create();
  // After a coordinator restart: the current summaries of the jobs this run owns.
  PipelineRunEffects restore(const std::map<std::string, protocol::JobStatus>& jobs);

  PipelineRunEffects on_stored(uint64_t seq, const Status& status);
  PipelineRunEffects on_job_created(const std::string& job, const Status& status);
  PipelineRunEffects on_job_status(const protocol::JobStatus& job);
  PipelineRunEffects on_job_gone(const std::string& job);
  PipelineRunEffects on_workload_applied(const std::string& ref, const Status& status);
  // The service or experiment as the manager has it now (an error: it is gone).
  PipelineRunEffects on_service_status(const std::string& service,
                                       const Result<protocol::InferenceServiceStatus>& status);
  PipelineRunEffects on_experiment_status(const std::string& experiment,
                                          const Result<protocol::ExperimentStatus>& status);
  PipelineRunEffects on_outputs(const std::string& task_id,
                                const pipelines::TaskOutputFiles& files);
  PipelineRunEffects on_timer();
  // cadre retry run/NAME: Ok with how many tasks run again, or why not (the answer
  // comes after the reset is stored, as AnswerRetry).
  PipelineRunEffects on_retry(uint64_t request);
  PipelineRunEffects on_delete(uint64_t request);
  PipelineRunEffects on_job_deleted(const std::string& job, const Status& status);
  PipelineRunEffects on_erased(const Status& status);

  const protocol::PipelineRunStatus& record() const { return rec_; }
  const std::string& name() const { return rec_.name; }
  protocol::PipelineRunStatus summary() const;  // without tasks, manifest and events
  bool deleting() const { return deleting_; }

 private:
  // Work released once the write that made it safe is stored.
  struct CreateIfCurrent {  // the task still runs `job`: create it
    std::string task_id;
    std::string job;
  };
  struct DeleteAfterWrite {
    std::string job;
  };
  struct Publish {};
  struct Record {
    std::vector<pipelines::CachedExecution> executions;
  };
  struct Logged {
    pipelines::StepMetrics metrics;
  };
  struct Answer {  // a retry, answered once its reset is stored
    uint64_t request = 0;
    int32_t tasks_reset = 0;
  };
  using Deferred = std::variant<CreateIfCurrent, DeleteAfterWrite, Publish, Record, Logged, Answer>;

  int64_t now() const { return options_.now_ms(); }
  // Applies what the driver asked for: persist, then jobs, reads and stops.
  void apply(PipelineRunEffects& out, pipelines::DriverActions actions,
             protocol::PipelineState before, std::vector<Deferred> also = {});
  void persist(PipelineRunEffects& out, std::vector<Deferred> then);
  void run_deferred(PipelineRunEffects& out, const Deferred& d);
  void arm_timer(PipelineRunEffects& out);
  void event(PipelineRunEffects& out, protocol::EventType type, const std::string& reason,
             const std::string& message);
  void maybe_erase(PipelineRunEffects& out);
  // Creates a step's job, or applies the service or experiment it runs.
  void start_launch(PipelineRunEffects& out, const pipelines::TaskLaunch& launch);
  // The running step waiting on `ref` ("inferenceservice/x", "experiment/r-3"), if any.
  const protocol::PipelineTaskStatus* watching(const std::string& ref) const;
  // That step's workload ended (or will not start): the driver takes it from here.
  void workload_ended(PipelineRunEffects& out, const std::string& ref, bool succeeded,
                      const std::string& message, const nlohmann::json& reported);
  const protocol::PipelineTaskStatus* task(const std::string& id) const;

  protocol::PipelineRunStatus rec_;
  std::shared_ptr<const spec::PipelineSpec> spec_;
  PipelineRunMachineOptions options_;  // options_.cache is the run's view of the cache
  pipelines::RunDriver driver_;
  WriteBarrier<Deferred> writes_;
  std::optional<int64_t> timer_at_;  // when the armed retry timer fires
  bool deleting_ = false;
  bool erasing_ = false;
  std::set<std::string> deleting_jobs_;  // delete requests not yet answered
  std::vector<uint64_t> delete_requests_;
};

// The manifest a step runs as: a Job of its command, or its workload (Job,
// TrainJob, InferenceService), labelled with its run and task.
std::string render_step_job(const protocol::PipelineRunStatus& run,
                            const pipelines::TaskLaunch& launch);

}  // namespace cadre::actors

// The driver of one pipeline run: KFP's DAG semantics as a pure function of the
// pipeline spec and the run's record (protocol::PipelineRunStatus). No CAF, no
// clock, no files: the run's supervisor feeds it events (a job ended, a task's
// outputs were read, time passed, a cancel) and carries out what it asks for
// (start a job, read a task's outputs, stop a job), persisting the record first.
//
// The record is the whole state: every task that was ever triggered has a
// PipelineTaskStatus with its resolved inputs, so after a coordinator restart a
// new driver over the stored record continues exactly where the old one stopped,
// and a task's job is named in the record before it is created (no step twice).
//
// Semantics (KFP v2, Argo's DAG rules underneath):
// - A task is triggered once every task it depends on (dependentTasks and the
//   producers of its inputs) has finished. With ALL_UPSTREAM_TASKS_SUCCEEDED (the
//   default) an upstream that did not succeed makes it SKIPPED; with
//   ALL_UPSTREAM_TASKS_COMPLETED (exit handlers, ignore_upstream_failure) it runs
//   anyway, inputs from producers that did not succeed being absent.
// - Its inputs are resolved (component inputs, upstream outputs, constants,
//   selectors, defaults) and type-checked; then triggerPolicy.condition decides
//   between running it and SKIPPED.
// - Fail fast: once a task has failed (retries spent), no new task starts except
//   those that run whatever their upstream did; running ones finish.
// - A DAG (the root, a sub-DAG, a loop iteration) finishes when all of its tasks
//   have: FAILED if one of them failed, else SUCCEEDED; its outputs come from
//   dag.outputs. A loop runs at most parallelismLimit iterations at once and
//   collects each output into a list, in item order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipelines/task_outputs.h"
#include "protocol/messages.h"
#include "protocol/spec/job_spec.h"
#include "protocol/spec/pipeline_spec.h"

namespace cadre::pipelines {

// Start what a step runs (its record already names it): a Job for a container
// executor; a Job, TrainJob or InferenceService for a workload executor.
struct TaskLaunch {
  std::string task_id;
  // The job to create; a deploy step's is "inferenceservice/<service>", a tuning
  // step's "experiment/<run>-<n>".
  std::string job;
  std::string folder;  // the task's folder, relative to <checkpoint root>/<namespace>
  std::string kind = "Job";
  spec::ReplicaTemplate replica;        // a container step's command
  int64_t active_deadline_seconds = 0;  // a container step's timeout (0: none)
  std::string workload_spec;            // a workload step's spec (YAML), placeholders substituted
  std::string workload_name;  // the InferenceService or Experiment of a deploy or tuning step
};

// Read what a succeeded task wrote; answer with on_outputs.
struct OutputRead {
  std::string task_id;
  std::string dir;                           // the task's folder (absolute)
  std::vector<std::string> parameter_names;  // files under dir/parameters
  std::vector<std::string> artifact_names;   // see whether dir/artifacts/<name> exists
  bool find_exported_model = false;          // look for model.cadre, model.pt in model_dir
  std::string model_dir;                     // where the job exported it; empty: dir
};

// A step execution that succeeded, as the cache keeps it: a later step with the
// same fingerprint (same executor, inputs and output definitions) reuses its
// outputs instead of running (KFP's execution caching).
struct CachedExecution {
  std::string fingerprint;
  std::string run;      // the run that executed it
  std::string task_id;  // and the task
  std::string outputs;  // JSON object of its output parameters
  std::vector<protocol::PipelineArtifact> output_artifacts;
};

// The cache a run sees; nullptr when the fingerprint has no succeeded execution.
using CacheLookup = std::function<const CachedExecution*(const std::string& fingerprint)>;

// Values a succeeded step logged into its Metrics artifact (KFP's log_metric)
// under names its job never printed: recorded as that job's metrics too, so the
// job's own view (`cadre describe job`, its charts) has them.
struct StepMetrics {
  std::string job;
  std::map<std::string, double> values;
};

struct DriverActions {
  std::vector<TaskLaunch> launches;
  std::vector<OutputRead> reads;
  std::vector<std::string> stop_jobs;       // jobs to delete (a canceled run)
  std::vector<CachedExecution> executions;  // steps that just succeeded, for the cache
  std::vector<StepMetrics> metrics;         // for the jobs of steps that just succeeded
  bool changed = false;                     // the record changed: persist it
};

struct DriverOptions {
  // The run's folder: tasks get <run_dir>/<task id>. run_folder is the same path
  // relative to <checkpoint root>/<namespace> (the jobs' checkpoint folder name).
  std::string run_dir;
  std::string run_folder;
  size_t max_tasks = 100000;  // tasks a run may trigger (loops over huge lists)
  CacheLookup cache;          // empty: nothing is reused
};

// A step's cache key: SHA-256 over its component's interface, its executor (image,
// command and args before substitution, env, resources), its input parameter
// values and the URIs of its input artifacts. Names play no part, so the same
// step under another task name hits the same entry.
std::string task_fingerprint(const spec::PipelineSpec& spec, const std::string& component,
                             const std::string& inputs_json,
                             const std::vector<protocol::PipelineArtifact>& input_artifacts);

class RunDriver {
 public:
  RunDriver(std::shared_ptr<const spec::PipelineSpec> spec, DriverOptions options);

  // Moves the run as far as it can go at `now_ms`: triggers, skips, finishes
  // DAGs and the run, starts retries that are due. Idempotent.
  DriverActions advance(protocol::PipelineRunStatus& run, int64_t now_ms) const;
  // The job `job` ended (succeeded or failed with `message`), or the service a
  // step deployed became ready ("inferenceservice/<name>") or failed to. `reported`
  // (a JSON object: a job's final metrics, a service's url, name and revision)
  // gives the outputs the step did not write as files.
  DriverActions on_job_finished(protocol::PipelineRunStatus& run, const std::string& job,
                                bool succeeded, const std::string& message,
                                const nlohmann::json& reported, int64_t now_ms) const;
  // The files of a task whose job succeeded.
  DriverActions on_outputs(protocol::PipelineRunStatus& run, const std::string& task_id,
                           const TaskOutputFiles& files, int64_t now_ms) const;
  // A FAILED run again from where it failed: every task that did not succeed (and
  // was not skipped by its condition) is forgotten and triggered anew; succeeded
  // steps keep their outputs. `reset` is how many tasks were forgotten.
  Result<DriverActions> retry(protocol::PipelineRunStatus& run, int64_t now_ms,
                              int32_t* reset) const;
  // Stops every running task; the run ends CANCELED.
  DriverActions cancel(protocol::PipelineRunStatus& run, const std::string& why,
                       int64_t now_ms) const;

  // What a running container task's job runs (to create it again after a restart).
  Result<TaskLaunch> launch_of(const protocol::PipelineRunStatus& run,
                               const protocol::PipelineTaskStatus& task) const;
  // The output read a collecting task needs (again after a restart).
  OutputRead read_of(const protocol::PipelineTaskStatus& task) const;
  // When the earliest waiting retry is due, if any.
  std::optional<int64_t> next_retry_ms(const protocol::PipelineRunStatus& run) const;

 private:
  class Pass;
  std::shared_ptr<const spec::PipelineSpec> spec_;
  DriverOptions options_;
};

// The retry delay after `attempt` failed attempts (1-based), per retryPolicy.
int64_t retry_backoff_ms(const spec::RetryPolicy& policy, int32_t attempt);

}  // namespace cadre::pipelines

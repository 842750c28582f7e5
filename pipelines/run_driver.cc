// RunDriver: what happened to a run's jobs (one finished, its outputs were read),
// retry and cancel, and the counts in the record. The walk over the DAG is in
// run_driver_dag.cc, what a step's job is made of in run_driver_launch.cc.
#include "pipelines/run_driver.h"

#include "pipelines/run_driver_pass.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "pipelines/cel_expression.h"
#include "pipelines/json_text.h"
#include "pipelines/placeholders.h"
#include "pipelines/step_job.h"
#include "pipelines/task_inputs.h"
#include "pipelines/task_outputs.h"

namespace cadre::pipelines {

using nlohmann::json;
using protocol::PipelineArtifact;
using protocol::PipelineRunStatus;
using protocol::PipelineState;
using protocol::PipelineTaskKind;
using protocol::PipelineTaskStatus;

int64_t retry_backoff_ms(const spec::RetryPolicy& policy, int32_t attempt) {
  const double factor = std::pow(policy.backoff_factor, std::max(0, attempt - 1));
  const double seconds = std::min(policy.backoff_seconds * factor, policy.max_backoff_seconds);
  return static_cast<int64_t>(std::llround(seconds * 1000));
}

DriverActions RunDriver::Pass::finish() {
  recount();
  return std::move(actions_);
}

PipelineTaskStatus* RunDriver::Pass::find(const std::string& id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &run_.tasks[it->second];
}

void RunDriver::Pass::job_finished(const std::string& job, bool succeeded,
                                   const std::string& message, const json& reported) {
  for (auto& t : run_.tasks) {
    if (t.job != job || t.state != PipelineState::kRunning || t.collecting || t.retry_at_ms) {
      continue;
    }
    change();
    if (succeeded) {
      t.reported = json_text(reported.is_object() ? reported : json::object());
      t.collecting = true;
      // A service step wrote no files: what its service reported is all it has.
      if (is_service_job(job)) return outputs_read(t.id, TaskOutputFiles{});
      actions_.reads.push_back(d_.read_of(t));
      return;
    }
    const auto& task = task_spec(t);
    if (task && t.attempts - 1 < task->retry.max_retries) {
      t.retry_at_ms = now_ + retry_backoff_ms(task->retry, t.attempts);
      t.message = "attempt " + std::to_string(t.attempts) + " failed (" + message + "); retrying";
      return;
    }
    fail(t, t.attempts > 1 ? "failed after " + std::to_string(t.attempts) + " attempts: " + message
                           : message);
    return;
  }
}

void RunDriver::Pass::outputs_read(const std::string& task_id, const TaskOutputFiles& files) {
  PipelineTaskStatus* t = find(task_id);
  if (!t || !t->collecting || t->state != PipelineState::kRunning) return;
  change();
  t->collecting = false;
  FinishedStep step;
  step.component = &spec_.components.at(t->component);
  step.workload = spec_.executors.at(step.component->executor).workload.has_value();
  step.job = t->job;
  step.dir = d_.options_.run_dir + "/" + t->id;
  step.reported = parse_json_object(t->reported);
  auto outputs = collect_task_outputs(step, files);
  if (!outputs.ok()) return fail(*t, outputs.status().message());
  t->outputs = json_text(outputs->parameters);
  t->output_artifacts = std::move(outputs->artifacts);
  t->state = PipelineState::kSucceeded;
  t->finished_ms = now_;
  t->message.clear();
  if (!t->fingerprint.empty()) {
    actions_.executions.push_back(
        CachedExecution{t->fingerprint, run_.name, t->id, t->outputs, t->output_artifacts});
  }
  StepMetrics logged = logged_metrics(*t);
  if (!logged.values.empty()) actions_.metrics.push_back(std::move(logged));
}

StepMetrics RunDriver::Pass::logged_metrics(const PipelineTaskStatus& t) const {
  StepMetrics m;
  m.job = t.job;
  if (t.job.empty() || is_service_job(t.job) || is_experiment_job(t.job)) return m;
  const json reported = parse_json_object(t.reported);
  for (const auto& a : t.output_artifacts) {
    if (a.schema_title != "system.Metrics") continue;
    const json metadata = parse_json_object(a.metadata);
    for (const auto& [name, value] : metadata.items()) {
      if (!value.is_number() || reported.contains(name)) continue;
      const double x = value.get<double>();
      if (std::isfinite(x)) m.values[name] = x;
    }
  }
  return m;
}

int32_t RunDriver::Pass::forget_unfinished_work() {
  std::set<std::string> forgotten;
  for (const auto& t : run_.tasks) {
    const bool keep =
        t.state == PipelineState::kSucceeded ||
        (t.state == PipelineState::kSkipped && t.message.rfind("condition is false", 0) == 0);
    if (!keep) forgotten.insert(t.id);
  }
  for (bool more = true; more;) {
    more = false;
    for (const auto& t : run_.tasks) {
      if (forgotten.count(t.id)) continue;
      const spec::PipelineTask* task = task_spec(t);
      if (!task) continue;
      const std::string prefix = t.parent.empty() ? "" : t.parent + "/";
      bool downstream = false;
      for (const auto& u : upstream_of(*task)) {
        downstream = downstream || forgotten.count(prefix + u);
      }
      if (!downstream) continue;
      forgotten.insert(t.id);
      for (const auto& inner : run_.tasks) {
        if (inner.id.rfind(t.id + "/", 0) == 0) forgotten.insert(inner.id);
      }
      more = true;
    }
  }
  run_.tasks.erase(
      std::remove_if(run_.tasks.begin(), run_.tasks.end(),
                     [&](const PipelineTaskStatus& t) { return forgotten.count(t.id) > 0; }),
      run_.tasks.end());
  index_.clear();
  for (size_t i = 0; i < run_.tasks.size(); ++i) index_[run_.tasks[i].id] = i;
  failing_ = false;
  return static_cast<int32_t>(forgotten.size());
}

void RunDriver::Pass::cancel_all(const std::string& why) {
  if (protocol::is_terminal(run_.state)) return;
  for (auto& t : run_.tasks) {
    if (protocol::is_terminal(t.state)) continue;
    // A deployed service outlives the run, as one applied by hand would.
    if (t.kind == PipelineTaskKind::kContainer && !t.job.empty() && !t.retry_at_ms &&
        !t.collecting && !is_service_job(t.job)) {
      actions_.stop_jobs.push_back(t.job);
    }
    t.state = PipelineState::kCanceled;
    t.message = why;
    t.finished_ms = now_;
  }
  run_.state = PipelineState::kCanceled;
  run_.message = why;
  run_.finished_ms = now_;
  change();
}

int32_t RunDriver::Pass::steps_in(const spec::Component& component) const {
  if (!component.dag) return 1;
  int32_t n = 0;
  for (const auto& [name, task] : component.dag->tasks) {
    n += steps_in(spec_.components.at(task.component));
  }
  return n;
}

void RunDriver::Pass::recount() {
  int32_t total = 0, succeeded = 0, failed = 0, skipped = 0, cached = 0;
  std::set<std::string> parents;
  for (const auto& t : run_.tasks) parents.insert(t.parent);
  for (const auto& t : run_.tasks) {
    // A sub-DAG or loop skipped before it started (a false condition, a failed
    // sibling) never makes its steps' tasks: they are skipped all the same.
    if (t.kind != PipelineTaskKind::kContainer && t.state == PipelineState::kSkipped &&
        parents.count(t.id) == 0) {
      auto component = spec_.components.find(t.component);
      if (component != spec_.components.end()) skipped += steps_in(component->second);
      continue;
    }
    if (t.kind != PipelineTaskKind::kContainer) continue;
    if (t.state == PipelineState::kSkipped) {
      ++skipped;
      continue;
    }
    ++total;
    succeeded += t.state == PipelineState::kSucceeded;
    failed += t.state == PipelineState::kFailed;
    cached += t.cached;
  }
  run_.tasks_total = total;
  run_.tasks_succeeded = succeeded;
  run_.tasks_failed = failed;
  run_.tasks_skipped = skipped;
  run_.tasks_cached = cached;
}

RunDriver::RunDriver(std::shared_ptr<const spec::PipelineSpec> spec, DriverOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {}

DriverActions RunDriver::advance(PipelineRunStatus& run, int64_t now_ms) const {
  Pass pass(*this, run, now_ms);
  pass.run_forward();
  return pass.finish();
}

DriverActions RunDriver::on_job_finished(PipelineRunStatus& run, const std::string& job,
                                         bool succeeded, const std::string& message,
                                         const nlohmann::json& reported, int64_t now_ms) const {
  Pass pass(*this, run, now_ms);
  pass.job_finished(job, succeeded, message, reported);
  pass.run_forward();
  return pass.finish();
}

DriverActions RunDriver::on_outputs(PipelineRunStatus& run, const std::string& task_id,
                                    const TaskOutputFiles& files, int64_t now_ms) const {
  Pass pass(*this, run, now_ms);
  pass.outputs_read(task_id, files);
  pass.run_forward();
  return pass.finish();
}

Result<DriverActions> RunDriver::retry(PipelineRunStatus& run, int64_t now_ms,
                                       int32_t* reset) const {
  if (run.state != PipelineState::kFailed) {
    return FailedPrecondition("run/" + run.name + " is " +
                              std::string(protocol::enum_name(run.state)) +
                              "; only a FAILED run can be retried");
  }
  Pass pass(*this, run, now_ms);
  const int32_t forgotten = pass.forget_unfinished_work();
  if (reset) *reset = forgotten;
  run.state = PipelineState::kRunning;
  run.message.clear();
  run.outputs.clear();
  run.finished_ms = 0;
  pass.change();
  pass.run_forward();
  return pass.finish();
}

DriverActions RunDriver::cancel(PipelineRunStatus& run, const std::string& why,
                                int64_t now_ms) const {
  Pass pass(*this, run, now_ms);
  pass.cancel_all(why);
  return pass.finish();
}

std::optional<int64_t> RunDriver::next_retry_ms(const PipelineRunStatus& run) const {
  std::optional<int64_t> next;
  for (const auto& t : run.tasks) {
    if (t.state != PipelineState::kRunning || !t.retry_at_ms) continue;
    if (!next || t.retry_at_ms < *next) next = t.retry_at_ms;
  }
  return next;
}

}  // namespace cadre::pipelines

#include "pipelines/run_driver.h"

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

namespace {

std::string state_name(PipelineState s) { return std::string(protocol::enum_name(s)); }

}  // namespace

int64_t retry_backoff_ms(const spec::RetryPolicy& policy, int32_t attempt) {
  const double factor = std::pow(policy.backoff_factor, std::max(0, attempt - 1));
  const double seconds = std::min(policy.backoff_seconds * factor, policy.max_backoff_seconds);
  return static_cast<int64_t>(std::llround(seconds * 1000));
}

// One call's work over the record: the task index, the actions gathered, and
// whether the run has a failed task (fail fast).
class RunDriver::Pass {
 public:
  Pass(const RunDriver& driver, PipelineRunStatus& run, int64_t now)
      : d_(driver), spec_(*driver.spec_), run_(run), now_(now) {
    for (size_t i = 0; i < run_.tasks.size(); ++i) {
      index_[run_.tasks[i].id] = i;
      if (run_.tasks[i].state == PipelineState::kFailed) failing_ = true;
    }
  }

  DriverActions finish() {
    recount();
    return std::move(actions_);
  }

  void change() { actions_.changed = true; }
  DriverActions& actions() { return actions_; }
  PipelineTaskStatus* find(const std::string& id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &run_.tasks[it->second];
  }

  void run_forward() {
    if (protocol::is_terminal(run_.state)) return;
    if (run_.state == PipelineState::kPending) {
      run_.state = PipelineState::kRunning;
      run_.started_ms = now_;
      change();
    }
    start_due_retries();
    for (bool progress = true; progress && !protocol::is_terminal(run_.state);) {
      progress = process_scope(root_scope());
      const size_t n = run_.tasks.size();
      for (size_t i = 0; i < n; ++i) {
        const auto& t = run_.tasks[i];
        if (t.state != PipelineState::kRunning) continue;
        if (t.kind == PipelineTaskKind::kDag || t.kind == PipelineTaskKind::kIteration) {
          progress = process_scope(scope_of(i)) || progress;
        } else if (t.kind == PipelineTaskKind::kLoop) {
          progress = process_loop(i) || progress;
        }
      }
    }
  }

  void job_finished(const std::string& job, bool succeeded, const std::string& message,
                    const json& reported) {
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
      fail(t, t.attempts > 1
                  ? "failed after " + std::to_string(t.attempts) + " attempts: " + message
                  : message);
      return;
    }
  }

  void outputs_read(const std::string& task_id, const TaskOutputFiles& files) {
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

  // The finite numbers of the step's Metrics artifacts under names its job did not
  // report itself (a printed series keeps its own history; the artifact's copy of
  // those stays in the artifact). Workloads other than jobs have no series.
  StepMetrics logged_metrics(const PipelineTaskStatus& t) const {
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

  // For a retry: forgets every task that did not succeed (a task skipped by its
  // condition stays skipped), and every task downstream of a forgotten one with
  // all that it holds (an exit handler runs again after what it guards). Succeeded
  // steps inside a forgotten DAG are kept: when the DAG runs again they are found
  // and not run twice. Returns how many tasks were forgotten.
  int32_t forget_unfinished_work() {
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

  void cancel_all(const std::string& why) {
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

 private:
  struct Scope {
    std::string prefix;  // "" at the root, "<id>/" below
    const spec::Component* component = nullptr;
    json inputs = json::object();
    std::vector<PipelineArtifact> artifacts;
    std::optional<size_t> record;  // the DAG or iteration record; none for the root
  };

  Scope root_scope() {
    Scope s;
    s.component = &spec_.root;
    s.inputs = parse_json_object(run_.parameters);
    return s;
  }

  Scope scope_of(size_t i) {
    const auto& t = run_.tasks[i];
    Scope s;
    s.prefix = t.id + "/";
    s.component = &spec_.components.at(t.component);
    s.inputs = parse_json_object(t.inputs);
    s.artifacts = t.input_artifacts;
    s.record = i;
    return s;
  }

  const spec::PipelineTask* task_spec(const PipelineTaskStatus& t) {
    // The task's DAG is its parent's component's (the root's at the top).
    const spec::Component* owner = &spec_.root;
    if (!t.parent.empty()) {
      const PipelineTaskStatus* parent = find(t.parent);
      if (!parent) return nullptr;
      owner = &spec_.components.at(parent->component);
    }
    if (!owner->dag) return nullptr;
    auto it = owner->dag->tasks.find(t.name);
    return it == owner->dag->tasks.end() ? nullptr : &it->second;
  }

  size_t add(PipelineTaskStatus t) {
    t.created_ms = now_;
    if (protocol::is_terminal(t.state)) t.finished_ms = now_;
    const size_t i = run_.tasks.size();
    index_[t.id] = i;
    run_.tasks.push_back(std::move(t));
    change();
    return i;
  }

  void fail(PipelineTaskStatus& t, const std::string& message) {
    t.state = PipelineState::kFailed;
    t.message = message;
    t.finished_ms = now_;
    t.collecting = false;
    t.retry_at_ms = 0;
    failing_ = true;
    change();
  }

  PipelineTaskStatus skeleton(const Scope& scope, const std::string& name,
                              const spec::PipelineTask& task) {
    PipelineTaskStatus t;
    t.id = scope.prefix + name;
    t.parent = scope.record ? run_.tasks[*scope.record].id : "";
    t.name = name;
    t.component = task.component;
    const auto& callee = spec_.components.at(task.component);
    t.kind = task.iterator ? PipelineTaskKind::kLoop
             : callee.dag  ? PipelineTaskKind::kDag
                           : PipelineTaskKind::kContainer;
    return t;
  }

  bool process_scope(const Scope& scope) {
    const spec::Dag& dag = *scope.component->dag;
    bool progress = false;
    for (const auto& name : dag.order) {
      const std::string id = scope.prefix + name;
      if (index_.count(id)) continue;
      progress = trigger(scope, name, dag.tasks.at(name)) || progress;
    }
    bool all_finished = true;
    for (const auto& [name, task] : dag.tasks) {
      const PipelineTaskStatus* t = find(scope.prefix + name);
      all_finished = all_finished && t && protocol::is_terminal(t->state);
    }
    if (!all_finished) return progress;
    finish_scope(scope);
    return true;
  }

  // The tasks of the same DAG this one waits for: dependentTasks and producers.
  static std::vector<std::string> upstream_of(const spec::PipelineTask& task) {
    std::vector<std::string> upstream = task.dependent_tasks;
    for (const auto& [_, src] : task.parameters) {
      if (src.kind == spec::ParameterSource::Kind::kTaskOutput) {
        upstream.push_back(src.producer_task);
      }
    }
    for (const auto& [_, src] : task.artifacts) {
      if (src.kind == spec::ArtifactSource::Kind::kTaskOutput) {
        upstream.push_back(src.producer_task);
      }
    }
    return upstream;
  }

  // Records a task that ends before it starts (skipped, or failed: then the run
  // fails fast); true, as trigger() says it made a record.
  bool settle(PipelineTaskStatus t, PipelineState state, std::string message) {
    t.state = state;
    t.message = std::move(message);
    if (state == PipelineState::kFailed) failing_ = true;
    add(std::move(t));
    return true;
  }

  // Whether the task may start: nullopt while an upstream task has not finished,
  // "" when it may, else why it is skipped. A task that runs anyway (an exit
  // handler: allUpstreamTasksCompleted) waits for its upstream and then starts.
  std::optional<std::string> upstream_verdict(const Scope& scope,
                                              const std::vector<std::string>& upstream,
                                              bool runs_anyway) {
    if (failing_ && !runs_anyway) return "not started: another task failed";
    std::string not_succeeded;
    for (const auto& u : upstream) {
      const PipelineTaskStatus* up = find(scope.prefix + u);
      if (!up || !protocol::is_terminal(up->state)) return std::nullopt;
      if (up->state != PipelineState::kSucceeded && not_succeeded.empty()) {
        not_succeeded = "upstream task '" + u + "' is " + state_name(up->state);
      }
    }
    return runs_anyway ? "" : not_succeeded;
  }

  // Creates the task's record if its time has come; true if it did.
  bool trigger(const Scope& scope, const std::string& name, const spec::PipelineTask& task) {
    const std::vector<std::string> upstream = upstream_of(task);
    PipelineTaskStatus t = skeleton(scope, name, task);
    for (const auto& u : upstream) t.upstream.push_back(scope.prefix + u);
    const auto verdict = upstream_verdict(
        scope, upstream, task.strategy == spec::TriggerStrategy::kAllUpstreamCompleted);
    if (!verdict) return false;
    if (!verdict->empty()) return settle(std::move(t), PipelineState::kSkipped, *verdict);
    if (run_.tasks.size() >= d_.options_.max_tasks) {
      return settle(
          std::move(t), PipelineState::kFailed,
          "the run reached its limit of " + std::to_string(d_.options_.max_tasks) + " tasks");
    }
    const spec::Component& callee = spec_.components.at(task.component);
    auto resolved = resolve_task_inputs(
        task, callee,
        InputScope{scope.inputs, scope.artifacts, [&](const std::string& sibling) {
                     return static_cast<const PipelineTaskStatus*>(find(scope.prefix + sibling));
                   }});
    if (!resolved.ok()) {
      return settle(std::move(t), PipelineState::kFailed, resolved.status().message());
    }
    t.inputs = json_text(resolved->parameters);
    t.input_artifacts = resolved->artifacts;
    if (!task.condition.empty()) {
      auto condition = CelExpression::Parse(task.condition);
      Result<bool> holds = condition.ok()
                               ? condition->evaluate_condition(
                                     json{{"inputs", {{"parameter_values", resolved->parameters}}}})
                               : Result<bool>(condition.status());
      if (!holds.ok()) {
        return settle(std::move(t), PipelineState::kFailed,
                      "condition " + shortened(task.condition) + ": " + holds.status().message());
      }
      if (!*holds) {
        return settle(std::move(t), PipelineState::kSkipped,
                      "condition is false: " + shortened(task.condition));
      }
    }
    begin(std::move(t), task, resolved->parameters);
    return true;
  }

  // A task whose inputs are resolved: a loop gets its items, a DAG opens, a step is
  // answered from the cache or its job is started.
  void begin(PipelineTaskStatus t, const spec::PipelineTask& task, const json& parameters) {
    t.state = PipelineState::kRunning;
    if (t.kind == PipelineTaskKind::kLoop) {
      json items = task.iterator->raw_items
                       ? *task.iterator->raw_items
                       : parameters.value(task.iterator->input_parameter, json());
      if (!items.is_array()) {
        settle(std::move(t), PipelineState::kFailed,
               "loop items from '" + task.iterator->input_parameter +
                   "' are not a list: " + shortened(json_text(items)));
        return;
      }
      t.items = json_text(items);
      t.started_ms = now_;
      add(std::move(t));
      return;
    }
    if (t.kind == PipelineTaskKind::kDag) {
      t.started_ms = now_;
      add(std::move(t));
      return;
    }
    t.fingerprint = task_fingerprint(spec_, t.component, t.inputs, t.input_artifacts);
    // A deploy always applies: its effect is a service that may have changed or
    // gone since, and applying an unchanged spec again changes nothing.
    const auto& executor = spec_.executors.at(spec_.components.at(t.component).executor);
    const bool deploys = executor.workload && executor.workload->kind == "InferenceService";
    if (task.enable_cache && run_.caching && d_.options_.cache && !deploys) {
      if (const CachedExecution* hit = d_.options_.cache(t.fingerprint)) {
        t.state = PipelineState::kSucceeded;
        t.cached = true;
        t.cached_from = hit->run + "/" + hit->task_id;
        t.outputs = hit->outputs;
        t.output_artifacts = hit->output_artifacts;
        t.started_ms = now_;
        add(std::move(t));
        return;
      }
    }
    start_job(add(std::move(t)));
  }

  // Names the task's next job in the record and asks for it to be created.
  void start_job(size_t i) {
    auto& t = run_.tasks[i];
    t.attempts += 1;
    t.job = run_.name + "-" + std::to_string(run_.next_job);
    t.retry_at_ms = 0;
    t.started_ms = now_;
    change();
    auto launch = d_.launch_of(run_, t);
    if (!launch.ok()) return fail(run_.tasks[i], launch.status().message());
    // The run's own objects take its next number; a deployed service keeps its name.
    if (launch->kind != "InferenceService") run_.next_job++;
    t.job = launch->job;
    t.workload_kind = launch->kind;
    actions_.launches.push_back(std::move(*launch));
  }

  void start_due_retries() {
    for (size_t i = 0; i < run_.tasks.size(); ++i) {
      const auto& t = run_.tasks[i];
      if (t.state == PipelineState::kRunning && t.retry_at_ms && t.retry_at_ms <= now_) {
        start_job(i);
      }
    }
  }

  void finish_scope(const Scope& scope) {
    const spec::Dag& dag = *scope.component->dag;
    std::string failed;
    for (const auto& name : dag.order) {
      const PipelineTaskStatus* t = find(scope.prefix + name);
      if (t->state == PipelineState::kFailed && failed.empty()) {
        failed = "task '" + t->id + "' failed: " + t->message;
      }
    }
    json outputs = json::object();
    std::vector<PipelineArtifact> artifacts;
    for (const auto& [name, out] : dag.output_parameters) {
      const PipelineTaskStatus* p = find(scope.prefix + out.producer_subtask);
      if (!p || p->state != PipelineState::kSucceeded) continue;
      json outs = parse_json_object(p->outputs);
      if (outs.contains(out.output_key)) outputs[name] = outs[out.output_key];
    }
    for (const auto& [name, out] : dag.output_artifacts) {
      const PipelineTaskStatus* p = find(scope.prefix + out.producer_subtask);
      if (!p || p->state != PipelineState::kSucceeded) continue;
      for (const auto& a : p->output_artifacts) {
        if (a.name != out.output_key) continue;
        PipelineArtifact copy = a;
        copy.name = name;
        artifacts.push_back(copy);
      }
    }
    const PipelineState state = failed.empty() ? PipelineState::kSucceeded : PipelineState::kFailed;
    change();
    if (!scope.record) {
      run_.state = state;
      run_.message = failed;
      run_.outputs = json_text(outputs);
      run_.finished_ms = now_;
      return;
    }
    auto& t = run_.tasks[*scope.record];
    t.state = state;
    t.message = failed;
    t.outputs = json_text(outputs);
    t.output_artifacts = artifacts;
    t.finished_ms = now_;
  }

  bool process_loop(size_t i) {
    const json items = json::parse(run_.tasks[i].items, nullptr, false);
    const size_t n = items.is_array() ? items.size() : 0;
    const spec::PipelineTask* task = task_spec(run_.tasks[i]);
    if (!task || !task->iterator) {
      fail(run_.tasks[i], "the loop's task is not in the spec");
      return true;
    }
    const int32_t limit = task->parallelism_limit;
    int32_t running = 0;
    for (size_t k = 0; k < n; ++k) {
      const PipelineTaskStatus* it = find(run_.tasks[i].id + "/" + std::to_string(k));
      if (it && it->state == PipelineState::kRunning) ++running;
    }
    bool progress = false;
    for (size_t k = 0; k < n; ++k) {
      const std::string id = run_.tasks[i].id + "/" + std::to_string(k);
      if (index_.count(id)) continue;
      PipelineTaskStatus t;
      t.id = id;
      t.parent = run_.tasks[i].id;
      t.name = std::to_string(k);
      t.kind = PipelineTaskKind::kIteration;
      t.component = run_.tasks[i].component;
      if (failing_) {
        t.state = PipelineState::kSkipped;
        t.message = "not started: another task failed";
        add(std::move(t));
        progress = true;
        continue;
      }
      if (limit > 0 && running >= limit) break;
      json inputs = parse_json_object(run_.tasks[i].inputs);
      inputs[task->iterator->item_input] = items[k];
      t.inputs = json_text(inputs);
      t.input_artifacts = run_.tasks[i].input_artifacts;
      t.state = PipelineState::kRunning;
      t.started_ms = now_;
      add(std::move(t));
      ++running;
      progress = true;
    }
    // Done when every item has an iteration and all of them have finished.
    std::vector<const PipelineTaskStatus*> iterations;
    for (size_t k = 0; k < n; ++k) {
      const PipelineTaskStatus* it = find(run_.tasks[i].id + "/" + std::to_string(k));
      if (!it || !protocol::is_terminal(it->state)) return progress;
      iterations.push_back(it);
    }
    auto& loop = run_.tasks[i];
    const spec::Dag& dag = *spec_.components.at(loop.component).dag;
    json outputs = json::object();
    for (const auto& [name, _] : dag.output_parameters) outputs[name] = json::array();
    std::string failed;
    for (const auto* it : iterations) {
      if (it->state == PipelineState::kFailed && failed.empty()) {
        failed = "iteration " + it->name + " failed: " + it->message;
      }
      if (it->state != PipelineState::kSucceeded) continue;
      json outs = parse_json_object(it->outputs);
      for (const auto& [name, _] : dag.output_parameters) {
        if (outs.contains(name)) outputs[name].push_back(outs[name]);
      }
    }
    loop.state = failed.empty() ? PipelineState::kSucceeded : PipelineState::kFailed;
    loop.message = failed;
    loop.outputs = json_text(outputs);
    loop.finished_ms = now_;
    change();
    return true;
  }

  // The steps a component would run: 1 for a container, every step of its DAG for a
  // DAG (a loop's body counted once: its items are known only when it runs).
  int32_t steps_in(const spec::Component& component) const {
    if (!component.dag) return 1;
    int32_t n = 0;
    for (const auto& [name, task] : component.dag->tasks) {
      n += steps_in(spec_.components.at(task.component));
    }
    return n;
  }

  void recount() {
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

  const RunDriver& d_;
  const spec::PipelineSpec& spec_;
  PipelineRunStatus& run_;
  int64_t now_;
  std::map<std::string, size_t> index_;
  bool failing_ = false;
  DriverActions actions_;
};

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
    return FailedPrecondition("run/" + run.name + " is " + state_name(run.state) +
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

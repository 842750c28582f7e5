// RunDriver's walk over a run's DAG: which tasks may start (upstream tasks,
// conditions, fail fast), their inputs, loops and their items, sub-DAGs and exit
// handlers, starting steps' jobs or answering them from the cache, and closing a
// scope once all of it has ended. Part of RunDriver (run_driver.h).

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

namespace {

std::string state_name(PipelineState s) { return std::string(protocol::enum_name(s)); }

}  // namespace

void RunDriver::Pass::run_forward() {
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

RunDriver::Pass::Scope RunDriver::Pass::root_scope() {
  Scope s;
  s.component = &spec_.root;
  s.inputs = parse_json_object(run_.parameters);
  return s;
}

RunDriver::Pass::Scope RunDriver::Pass::scope_of(size_t i) {
  const auto& t = run_.tasks[i];
  Scope s;
  s.prefix = t.id + "/";
  s.component = &spec_.components.at(t.component);
  s.inputs = parse_json_object(t.inputs);
  s.artifacts = t.input_artifacts;
  s.record = i;
  return s;
}

const spec::PipelineTask* RunDriver::Pass::task_spec(const PipelineTaskStatus& t) {
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

size_t RunDriver::Pass::add(PipelineTaskStatus t) {
  t.created_ms = now_;
  if (protocol::is_terminal(t.state)) t.finished_ms = now_;
  const size_t i = run_.tasks.size();
  index_[t.id] = i;
  run_.tasks.push_back(std::move(t));
  change();
  return i;
}

void RunDriver::Pass::fail(PipelineTaskStatus& t, const std::string& message) {
  t.state = PipelineState::kFailed;
  t.message = message;
  t.finished_ms = now_;
  t.collecting = false;
  t.retry_at_ms = 0;
  failing_ = true;
  change();
}

PipelineTaskStatus RunDriver::Pass::skeleton(const Scope& scope, const std::string& name,
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

bool RunDriver::Pass::process_scope(const Scope& scope) {
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

std::vector<std::string> RunDriver::Pass::upstream_of(const spec::PipelineTask& task) {
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

bool RunDriver::Pass::settle(PipelineTaskStatus t, PipelineState state, std::string message) {
  t.state = state;
  t.message = std::move(message);
  if (state == PipelineState::kFailed) failing_ = true;
  add(std::move(t));
  return true;
}

std::optional<std::string> RunDriver::Pass::upstream_verdict(
    const Scope& scope, const std::vector<std::string>& upstream, bool runs_anyway) {
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

bool RunDriver::Pass::trigger(const Scope& scope, const std::string& name,
                              const spec::PipelineTask& task) {
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

void RunDriver::Pass::begin(PipelineTaskStatus t, const spec::PipelineTask& task,
                            const json& parameters) {
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

void RunDriver::Pass::start_job(size_t i) {
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

void RunDriver::Pass::start_due_retries() {
  for (size_t i = 0; i < run_.tasks.size(); ++i) {
    const auto& t = run_.tasks[i];
    if (t.state == PipelineState::kRunning && t.retry_at_ms && t.retry_at_ms <= now_) {
      start_job(i);
    }
  }
}

void RunDriver::Pass::finish_scope(const Scope& scope) {
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

bool RunDriver::Pass::process_loop(size_t i) {
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

}  // namespace cadre::pipelines

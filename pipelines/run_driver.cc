#include "pipelines/run_driver.h"
#include "pipelines/json_text.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include "pipelines/cel_expression.h"
#include "pipelines/placeholders.h"
#include "pipelines/spec_placeholders.h"
#include "protocol/digest.h"
#include "protocol/wall_clock.h"

namespace cadre::pipelines {

using nlohmann::json;
using protocol::PipelineArtifact;
using protocol::PipelineRunStatus;
using protocol::PipelineState;
using protocol::PipelineTaskKind;
using protocol::PipelineTaskStatus;

namespace {

// Makes the task's output folders (as the replica's user), then runs the step.
constexpr const char* kPrepareScript =
    "mkdir -p \"$CADRE_CHECKPOINT_DIR/parameters\" \"$CADRE_CHECKPOINT_DIR/artifacts\" && "
    "exec \"$@\"";

json parse_object(const std::string& text) {
  if (text.empty()) return json::object();
  json v = json::parse(text, nullptr, false);
  return v.is_object() ? v : json::object();
}

std::string state_name(PipelineState s) { return std::string(protocol::enum_name(s)); }

std::string shorten(const std::string& s) { return s.size() > 200 ? s.substr(0, 200) + "..." : s; }

constexpr const char* kServicePrefix = "inferenceservice/";
constexpr const char* kExperimentPrefix = "experiment/";

// A deploy step's `job` is the service it deploys; a tuning step's, its experiment.
bool is_service_job(const std::string& job) { return job.rfind(kServicePrefix, 0) == 0; }
bool is_experiment_job(const std::string& job) { return job.rfind(kExperimentPrefix, 0) == 0; }

// A replica template of a workload step: its command runs under the step's
// preparation (the output folders), with the step's variables beside its own.
void wrap_template(YAML::Node tmpl, const std::vector<spec::EnvVar>& step_env) {
  if (!tmpl || !tmpl.IsMap()) return;  // the kind's parser says what is missing
  YAML::Node command(YAML::NodeType::Sequence);
  for (const char* part : {"/bin/sh", "-c", kPrepareScript, "cadre-task"}) command.push_back(part);
  if (tmpl["command"] && tmpl["command"].IsSequence()) {
    for (const auto& c : tmpl["command"]) command.push_back(c);
  }
  tmpl["command"] = command;
  YAML::Node env = tmpl["env"];
  if (!env || !env.IsSequence()) env = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& v : step_env) {
    YAML::Node item;
    item["name"] = v.name;
    item["value"] = v.value;
    env.push_back(item);
  }
  tmpl["env"] = env;
}

struct WorkloadLaunch {
  std::string spec;  // YAML
  std::string name;  // a service's
};

Result<WorkloadLaunch> workload_launch(const spec::WorkloadExecutor& w, const ExecutorContext& ctx,
                                       const std::vector<spec::EnvVar>& step_env) {
  WorkloadLaunch out;
  ASSIGN_OR_RETURN(YAML::Node body,
                   substitute_spec_placeholders(YAML::Load(w.spec_yaml), ctx, "spec"));
  if (w.kind == "Job") {
    wrap_template(body["template"], step_env);
  } else if (w.kind == "TrainJob" && body["replicaSpecs"] && body["replicaSpecs"].IsMap()) {
    for (auto kv : body["replicaSpecs"]) wrap_template(kv.second["template"], step_env);
  }
  if (!w.name.empty()) {
    auto name = resolve_args({w.name}, ctx);
    if (!name.ok()) return InvalidArgument("metadata.name: " + name.status().message());
    if (name->size() != 1) return InvalidArgument("metadata.name: must be one string");
    out.name = name->front();
  }
  YAML::Emitter text;
  text << body;
  out.spec = text.c_str();
  return out;
}

// A value made to fit the declared type where KFP's launcher would accept it.
Result<json> coerce(const json& v, spec::ParameterType type, const std::string& name) {
  if (spec::parameter_has_type(v, type)) {
    if (type == spec::ParameterType::kDouble) return json(v.get<double>());
    return v;
  }
  if (type == spec::ParameterType::kString) return json(parameter_text(v));
  if (v.is_string()) return spec::parse_parameter_text(v.get<std::string>(), type, name);
  if (type == spec::ParameterType::kInteger && v.is_number_float()) {
    const double d = v.get<double>();
    if (d == std::floor(d) && std::fabs(d) < 9e15) return json(static_cast<int64_t>(d));
  }
  return InvalidArgument("input parameter '" + name + "': " + shorten(json_text(v)) + " is not a " +
                         spec::parameter_type_name(type) + " value");
}

std::string strip(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string task_fingerprint(const spec::PipelineSpec& spec, const std::string& component,
                             const std::string& inputs_json,
                             const std::vector<PipelineArtifact>& input_artifacts) {
  const spec::Component& c = spec.components.at(component);
  const spec::Executor& executor = spec.executors.at(c.executor);
  auto interface = [](const spec::ComponentInterface& i) {
    json params = json::object();
    for (const auto& [name, def] : i.parameters) params[name] = spec::parameter_type_name(def.type);
    json artifacts = json::object();
    for (const auto& [name, def] : i.artifacts) artifacts[name] = def.schema_title;
    return json{{"parameters", params}, {"artifacts", artifacts}};
  };
  json executor_key;
  if (const auto& w = executor.workload) {
    executor_key = {{"kind", w->kind}, {"name", w->name}, {"spec", w->spec_yaml}};
  } else {
    const spec::ContainerExecutor& e = *executor.container;
    json env = json::array();
    for (const auto& v : e.env) env.push_back({v.name, v.value});
    executor_key = {
        {"image", e.image},
        {"command", e.command},
        {"args", e.args},
        {"env", env},
        {"resources", {e.resources.cpu_millis, e.resources.memory_bytes, e.resources.gpus}}};
    // Absent when unset, so specs without one keep their fingerprints.
    if (e.active_deadline_seconds > 0) executor_key["deadline"] = e.active_deadline_seconds;
  }
  json artifacts = json::object();
  for (const auto& a : input_artifacts) artifacts[a.name] = a.uri;
  // nlohmann's objects are ordered maps: the dump is canonical.
  const json key = {{"inputs", interface(c.inputs)},
                    {"outputs", interface(c.outputs)},
                    {"executor", executor_key},
                    {"parameters", parse_object(inputs_json)},
                    {"artifacts", artifacts}};
  return protocol::sha256_hex(json_text(key));
}

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
    auto outputs = parse_outputs(*t, files);
    if (!outputs.ok()) return fail(*t, outputs.message());
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
    const json reported = parse_object(t.reported);
    for (const auto& a : t.output_artifacts) {
      if (a.schema_title != "system.Metrics") continue;
      const json metadata = parse_object(a.metadata);
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

  struct Resolved {
    json parameters = json::object();
    std::vector<PipelineArtifact> artifacts;
  };

  Scope root_scope() {
    Scope s;
    s.component = &spec_.root;
    s.inputs = parse_object(run_.parameters);
    return s;
  }

  Scope scope_of(size_t i) {
    const auto& t = run_.tasks[i];
    Scope s;
    s.prefix = t.id + "/";
    s.component = &spec_.components.at(t.component);
    s.inputs = parse_object(t.inputs);
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

  // Creates the task's record if its time has come; true if it did.
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

  bool trigger(const Scope& scope, const std::string& name, const spec::PipelineTask& task) {
    const std::vector<std::string> upstream = upstream_of(task);
    const bool runs_anyway = task.strategy == spec::TriggerStrategy::kAllUpstreamCompleted;
    PipelineTaskStatus t = skeleton(scope, name, task);
    for (const auto& u : upstream) t.upstream.push_back(scope.prefix + u);
    if (failing_ && !runs_anyway) {
      t.state = PipelineState::kSkipped;
      t.message = "not started: another task failed";
      add(std::move(t));
      return true;
    }
    std::string not_succeeded;
    for (const auto& u : upstream) {
      const PipelineTaskStatus* up = find(scope.prefix + u);
      if (!up || !protocol::is_terminal(up->state)) return false;
      if (up->state != PipelineState::kSucceeded && not_succeeded.empty()) {
        not_succeeded = "upstream task '" + u + "' is " + state_name(up->state);
      }
    }
    if (!runs_anyway && !not_succeeded.empty()) {
      t.state = PipelineState::kSkipped;
      t.message = not_succeeded;
      add(std::move(t));
      return true;
    }
    if (run_.tasks.size() >= d_.options_.max_tasks) {
      t.state = PipelineState::kFailed;
      t.message =
          "the run reached its limit of " + std::to_string(d_.options_.max_tasks) + " tasks";
      add(std::move(t));
      failing_ = true;
      return true;
    }
    const spec::Component& callee = spec_.components.at(task.component);
    auto resolved = resolve(scope, task, callee);
    if (!resolved.ok()) {
      t.state = PipelineState::kFailed;
      t.message = resolved.status().message();
      add(std::move(t));
      failing_ = true;
      return true;
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
        t.state = PipelineState::kFailed;
        t.message = "condition " + shorten(task.condition) + ": " + holds.status().message();
        add(std::move(t));
        failing_ = true;
        return true;
      }
      if (!*holds) {
        t.state = PipelineState::kSkipped;
        t.message = "condition is false: " + shorten(task.condition);
        add(std::move(t));
        return true;
      }
    }
    t.state = PipelineState::kRunning;
    if (t.kind == PipelineTaskKind::kLoop) {
      json items = task.iterator->raw_items
                       ? *task.iterator->raw_items
                       : resolved->parameters.value(task.iterator->input_parameter, json());
      if (!items.is_array()) {
        t.state = PipelineState::kFailed;
        t.message = "loop items from '" + task.iterator->input_parameter +
                    "' are not a list: " + shorten(json_text(items));
        add(std::move(t));
        failing_ = true;
        return true;
      }
      t.items = json_text(items);
      t.started_ms = now_;
      add(std::move(t));
      return true;
    }
    if (t.kind == PipelineTaskKind::kDag) {
      t.started_ms = now_;
      add(std::move(t));
      return true;
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
        return true;
      }
    }
    start_job(add(std::move(t)));
    return true;
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

  Result<Resolved> resolve(const Scope& scope, const spec::PipelineTask& task,
                           const spec::Component& callee) {
    Resolved out;
    for (const auto& [name, src] : task.parameters) {
      std::optional<json> v;
      std::string absent;
      switch (src.kind) {
        case spec::ParameterSource::Kind::kComponentInput:
          if (scope.inputs.contains(src.name)) v = scope.inputs[src.name];
          absent = "its source '" + src.name + "' has no value";
          break;
        case spec::ParameterSource::Kind::kTaskOutput: {
          const PipelineTaskStatus* p = find(scope.prefix + src.producer_task);
          if (p && p->state == PipelineState::kSucceeded) {
            json outs = parse_object(p->outputs);
            if (outs.contains(src.name)) v = outs[src.name];
          }
          absent = "task '" + src.producer_task + "' did not produce '" + src.name + "'" +
                   (p ? " (it is " + state_name(p->state) + ")" : "");
          break;
        }
        case spec::ParameterSource::Kind::kConstant:
          v = src.constant;
          break;
      }
      if (v && !src.selector.empty()) {
        auto expr = CelExpression::Parse(src.selector);
        if (!expr.ok()) return expr.status();
        auto selected = expr->evaluate(json{{"string_value", parameter_text(*v)}});
        if (!selected.ok()) {
          return InvalidArgument("input parameter '" + name + "': selector " + src.selector + ": " +
                                 selected.status().message());
        }
        v = *selected;
      }
      if (v) {
        out.parameters[name] = *v;
      } else if (!absent.empty()) {
        missing_[name] = absent;
      }
    }
    for (const auto& [name, def] : callee.inputs.parameters) {
      if (task.iterator && name == task.iterator->item_input) continue;
      if (!out.parameters.contains(name)) {
        if (def.default_value) {
          out.parameters[name] = *def.default_value;
        } else if (!def.optional) {
          auto why = missing_.find(name);
          return InvalidArgument("input parameter '" + name + "' has no value" +
                                 (why == missing_.end() ? "" : ": " + why->second));
        }
        continue;
      }
      ASSIGN_OR_RETURN(out.parameters[name], coerce(out.parameters[name], def.type, name));
    }
    missing_.clear();
    for (const auto& [name, src] : task.artifacts) {
      std::optional<PipelineArtifact> a;
      if (src.kind == spec::ArtifactSource::Kind::kComponentInput) {
        for (const auto& have : scope.artifacts) {
          if (have.name == src.name) a = have;
        }
      } else {
        const PipelineTaskStatus* p = find(scope.prefix + src.producer_task);
        if (p && p->state == PipelineState::kSucceeded) {
          for (const auto& have : p->output_artifacts) {
            if (have.name == src.name) a = have;
          }
        }
      }
      if (!a) {
        return InvalidArgument("input artifact '" + name + "' has no value" +
                               (src.kind == spec::ArtifactSource::Kind::kTaskOutput
                                    ? ": task '" + src.producer_task + "' did not produce it"
                                    : std::string()));
      }
      a->name = name;
      out.artifacts.push_back(*a);
    }
    return out;
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
      json outs = parse_object(p->outputs);
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
      json inputs = parse_object(run_.tasks[i].inputs);
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
      json outs = parse_object(it->outputs);
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

  Status parse_outputs(PipelineTaskStatus& t, const TaskOutputFiles& files) {
    if (!files.error.empty())
      return FailedPrecondition("reading its outputs failed: " + files.error);
    const spec::Component& c = spec_.components.at(t.component);
    json executor_output = json::object();
    if (files.executor_output) {
      executor_output = json::parse(*files.executor_output, nullptr, false);
      if (!executor_output.is_object()) {
        return InvalidArgument("executor_output.json is not a JSON object");
      }
    }
    const json values = executor_output.value("parameterValues", json::object());
    const std::string dir = d_.options_.run_dir + "/" + t.id;
    // What the job reported when it ended (its final metrics; a service's url and
    // revision): the value of any output it did not write as a file.
    const json reported = parse_object(t.reported);
    const spec::Executor& executor = spec_.executors.at(c.executor);
    const bool workload = executor.workload.has_value();
    json outputs = json::object();
    for (const auto& [name, def] : c.outputs.parameters) {
      if (values.is_object() && values.contains(name)) {
        ASSIGN_OR_RETURN(outputs[name], coerce(values[name], def.type, name));
        continue;
      }
      auto file = files.parameters.find(name);
      if (file == files.parameters.end() && reported.contains(name)) {
        auto v = coerce(reported[name], def.type, name);
        if (!v.ok()) return InvalidArgument("output parameter: " + v.status().message());
        outputs[name] = *v;
        continue;
      }
      if (file == files.parameters.end()) {
        if (is_service_job(t.job)) {
          return InvalidArgument("output parameter '" + name +
                                 "' is not something a service reports (url, name, revision)");
        }
        if (is_experiment_job(t.job)) {
          return InvalidArgument("output parameter '" + name +
                                 "' is neither a parameter nor a metric of the best trial, nor "
                                 "best_trial");
        }
        return InvalidArgument("output parameter '" + name + "' was not written (" + dir +
                               "/parameters/" + name + ") and its job reported no metric '" + name +
                               "'");
      }
      if (def.type == spec::ParameterType::kString) {
        // `echo value > file` is how most container steps write one: drop its newline.
        std::string text = file->second;
        if (!text.empty() && text.back() == '\n') text.pop_back();
        outputs[name] = text;
        continue;
      }
      auto v = spec::parse_parameter_text(strip(file->second), def.type, name);
      if (!v.ok()) return InvalidArgument("output parameter: " + v.status().message());
      outputs[name] = *v;
    }
    const json artifacts = executor_output.value("artifacts", json::object());
    std::vector<PipelineArtifact> out_artifacts;
    for (const auto& [name, def] : c.outputs.artifacts) {
      PipelineArtifact a;
      a.name = name;
      a.uri = "file://" + dir + "/artifacts/" + name;
      a.schema_title = def.schema_title;
      if (workload && !files.artifacts.count(name)) {
        // A workload's model is the one its job exported, where trainjob:// finds it.
        if (def.schema_title == "system.Model" && !files.exported_model.empty()) {
          a.uri = "file://" + files.exported_model;
        } else if (def.schema_title != "system.Metrics") {
          return InvalidArgument("output artifact '" + name + "' was not written (" + dir +
                                 "/artifacts/" + name + ")" +
                                 (def.schema_title == "system.Model"
                                      ? " and its job exported no model (model.cadre or model.pt "
                                        "in $CADRE_CHECKPOINT_DIR)"
                                      : ""));
        }
      }
      json metadata = json::object();
      bool described = false;
      if (artifacts.is_object() && artifacts.contains(name)) {
        const json& list = artifacts[name].value("artifacts", json::array());
        if (list.is_array() && !list.empty() && list[0].is_object()) {
          metadata = list[0].value("metadata", json::object());
          if (!metadata.is_object()) metadata = json::object();
          described = true;
        }
      }
      if (!described && def.schema_title == "system.Metrics") {
        // KFP's Metrics artifact holds name -> number: the job's final metrics.
        for (const auto& [key, value] : reported.items()) {
          if (value.is_number()) metadata[key] = value;
        }
      }
      a.metadata = json_text(metadata);
      out_artifacts.push_back(std::move(a));
    }
    t.outputs = json_text(outputs);
    t.output_artifacts = std::move(out_artifacts);
    return Status::Ok();
  }

  void recount() {
    int32_t total = 0, succeeded = 0, failed = 0, skipped = 0, cached = 0;
    for (const auto& t : run_.tasks) {
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
  std::map<std::string, std::string> missing_;  // during resolve: why an input has no value
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

Result<TaskLaunch> RunDriver::launch_of(const PipelineRunStatus& run,
                                        const PipelineTaskStatus& task) const {
  const spec::Component& c = spec_->components.at(task.component);
  const spec::Executor& executor = spec_->executors.at(c.executor);
  const std::string dir = options_.run_dir + "/" + task.id;
  ExecutorContext ctx;
  ctx.parameters = parse_object(task.inputs);
  for (const auto& a : task.input_artifacts) {
    ArtifactValue v;
    v.uri = a.uri;
    v.path = a.uri.compare(0, 7, "file://") == 0 ? a.uri.substr(7) : a.uri;
    v.schema_title = a.schema_title;
    v.metadata = parse_object(a.metadata);
    ctx.input_artifacts[a.name] = std::move(v);
  }
  for (const auto& [name, def] : c.outputs.parameters) {
    ctx.output_parameter_files[name] = dir + "/parameters/" + name;
  }
  for (const auto& [name, def] : c.outputs.artifacts) {
    ArtifactValue v;
    v.path = dir + "/artifacts/" + name;
    v.uri = "file://" + v.path;
    v.schema_title = def.schema_title;
    ctx.output_artifacts[name] = std::move(v);
  }
  ctx.output_file = dir + "/executor_output.json";
  ctx.pipeline_info = {{"pipeline_job_name", run.name},
                       {"pipeline_job_resource_name", run.name},
                       {"pipeline_job_uuid", run.name},
                       {"pipeline_task_name", task.name},
                       {"pipeline_task_uuid", task.id},
                       {"pipeline_root", "file://" + options_.run_dir},
                       {"pipeline_job_create_time_utc", utc_text(run.created_ms)},
                       {"pipeline_job_schedule_time_utc",
                        utc_text(run.scheduled_ms ? run.scheduled_ms : run.created_ms)}};
  TaskLaunch launch;
  launch.task_id = task.id;
  launch.job = task.job;
  launch.folder = options_.run_folder + "/" + task.id;
  const std::vector<spec::EnvVar> step_env = {{"CADRE_PIPELINE_RUN", run.name},
                                              {"CADRE_PIPELINE_TASK", task.id}};
  if (executor.workload) {
    ASSIGN_OR_RETURN(auto workload, workload_launch(*executor.workload, ctx, step_env));
    launch.kind = executor.workload->kind;
    launch.workload_spec = std::move(workload.spec);
    if (launch.kind == "InferenceService") {
      launch.workload_name = std::move(workload.name);
      launch.job = kServicePrefix + launch.workload_name;
    } else if (launch.kind == "Experiment") {
      // Named as the run's jobs are: <run>-<n>.
      launch.workload_name = is_experiment_job(task.job)
                                 ? task.job.substr(std::string(kExperimentPrefix).size())
                                 : task.job;
      launch.job = kExperimentPrefix + launch.workload_name;
    }
    return launch;
  }
  const spec::ContainerExecutor& e = *executor.container;
  auto command = resolve_args(e.command, ctx);
  if (!command.ok()) return InvalidArgument("command: " + command.status().message());
  auto args = resolve_args(e.args, ctx);
  if (!args.ok()) return InvalidArgument("args: " + args.status().message());
  launch.replica.command = {"/bin/sh", "-c", kPrepareScript, "cadre-task"};
  launch.replica.args = std::move(*command);
  launch.replica.args.insert(launch.replica.args.end(), args->begin(), args->end());
  launch.replica.env = e.env;
  launch.replica.env.insert(launch.replica.env.end(), step_env.begin(), step_env.end());
  launch.replica.resources = e.resources;
  launch.active_deadline_seconds = e.active_deadline_seconds;
  return launch;
}

OutputRead RunDriver::read_of(const PipelineTaskStatus& task) const {
  OutputRead read;
  read.task_id = task.id;
  read.dir = options_.run_dir + "/" + task.id;
  const spec::Component& c = spec_->components.at(task.component);
  for (const auto& [name, _] : c.outputs.parameters) read.parameter_names.push_back(name);
  if (spec_->executors.at(c.executor).workload) {
    for (const auto& [name, _] : c.outputs.artifacts) read.artifact_names.push_back(name);
    read.find_exported_model = true;
    if (is_experiment_job(task.job)) {
      // A tuning step's model is the one its best trial exported, in the trial's
      // folder beside the run's (<checkpoint root>/<namespace>/<trial>).
      const json reported = parse_object(task.reported);
      const std::string best = reported.value("best_trial", "");
      const std::string& dir = options_.run_dir;
      const size_t cut = dir.size() - std::min(dir.size(), options_.run_folder.size() + 1);
      read.find_exported_model =
          !best.empty() && best.find('/') == std::string::npos && best != "." && best != "..";
      read.model_dir = dir.substr(0, cut) + "/" + best;
    }
  }
  return read;
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

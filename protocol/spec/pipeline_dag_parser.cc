#include "protocol/spec/pipeline_dag_parser.h"

#include <cmath>
#include <cstdlib>
#include <set>

#include "pipelines/cel_expression.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

using nlohmann::json;

namespace {

Result<double> seconds_of(const std::string& text, const std::string& path) {
  // protobuf Duration JSON: "3600s", "0.5s".
  if (text.empty() || text.back() != 's') {
    return field_error(path, quote_value(text) + " is not a duration like '30s'");
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() - 1 || !std::isfinite(v) || v < 0 || v > kMaxSeconds) {
    return field_error(path, quote_value(text) + " is not a duration like '30s'");
  }
  return v;
}

class DagParser {
 public:
  DagParser(std::map<std::string, RawComponent>& components,
            const std::map<std::string, Executor>& executors)
      : components_(components), executors_(executors) {}

  // Parses the DAG of `owner` (whose inputs are the tasks' componentInputParameters).
  Result<std::shared_ptr<const Dag>> parse(const YAML::Node& node, const std::string& path,
                                           const Component& owner, size_t depth) {
    if (depth > kMaxPipelineDagDepth) {
      return field_error(path, "DAGs nest more than " + std::to_string(kMaxPipelineDagDepth) +
                                   " deep (or a component calls itself)");
    }
    ASSIGN_OR_RETURN(YamlReader d, YamlReader::Map(node, path));
    RETURN_IF_ERROR(d.only({"tasks", "outputs"}));
    auto dag = std::make_shared<Dag>();
    const YAML::Node tasks = d.node("tasks");
    const std::string tpath = d.child_path("tasks");
    if (!tasks || !tasks.IsMap() || tasks.size() == 0) {
      return field_error(tpath, "must be a map with at least one task");
    }
    for (const auto& kv : tasks) {
      const std::string name = kv.first.as<std::string>();
      if (!is_usable_pipeline_name(name))
        return field_error(pipeline_field(tpath, name), "is not a usable task name");
      if (++task_count_ > kMaxPipelineTasks) {
        return field_error(tpath, "more than " + std::to_string(kMaxPipelineTasks) + " tasks");
      }
      ASSIGN_OR_RETURN(auto task, parse_task(kv.second, pipeline_field(tpath, name), owner));
      task.name = name;
      dag->tasks[name] = std::move(task);
    }
    for (const auto& [name, task] : dag->tasks) {
      RETURN_IF_ERROR(check_references(*dag, task, pipeline_field(tpath, name)));
    }
    ASSIGN_OR_RETURN(dag->order, topological_order(*dag, tpath));
    ASSIGN_OR_RETURN(auto outputs, d.map("outputs"));
    if (outputs) RETURN_IF_ERROR(parse_dag_outputs(*outputs, *dag));
    RETURN_IF_ERROR(d.reject_unknown());
    // Sub-DAGs: parsed once per use, since nesting depth is what the check bounds.
    for (const auto& [name, task] : dag->tasks) {
      RawComponent& callee = components_.at(task.component);
      if (!callee.has_dag) continue;
      if (!callee.component.dag) {
        ASSIGN_OR_RETURN(auto sub, parse(callee.dag, pipeline_field(callee.path, "dag"),
                                         callee.component, depth + 1));
        callee.component.dag = sub;
      }
    }
    return std::shared_ptr<const Dag>(dag);
  }

 private:
  Result<PipelineTask> parse_task(const YAML::Node& node, const std::string& path,
                                  const Component& owner) {
    ASSIGN_OR_RETURN(YamlReader t, YamlReader::Map(node, path));
    RETURN_IF_ERROR(
        t.only({"componentRef", "dependentTasks", "inputs", "triggerPolicy", "parameterIterator",
                "iteratorPolicy", "retryPolicy", "cachingOptions", "taskInfo"}));
    PipelineTask task;
    ASSIGN_OR_RETURN(auto ref, t.map("componentRef"));
    if (!ref) return field_error(t.child_path("componentRef"), "required");
    RETURN_IF_ERROR(ref->only({"name"}));
    ASSIGN_OR_RETURN(auto component, ref->string("name"));
    if (!component) return field_error(ref->child_path("name"), "required");
    auto callee_it = components_.find(*component);
    if (callee_it == components_.end()) {
      return field_error(ref->child_path("name"),
                         "there is no component " + quote_value(*component) + " in components");
    }
    task.component = *component;
    const Component& callee = callee_it->second.component;
    const bool callee_is_dag = callee_it->second.has_dag;

    ASSIGN_OR_RETURN(auto deps, t.string_list("dependentTasks"));
    task.dependent_tasks = deps.value_or(std::vector<std::string>{});

    ASSIGN_OR_RETURN(auto iterator, t.map("parameterIterator"));
    if (iterator) {
      RETURN_IF_ERROR(iterator->only({"itemInput", "items"}));
      ParameterIterator it;
      ASSIGN_OR_RETURN(auto item_input, iterator->string("itemInput"));
      if (!item_input) return field_error(iterator->child_path("itemInput"), "required");
      it.item_input = *item_input;
      if (!callee_is_dag) {
        return field_error(iterator->path(), "a loop's component must be a DAG");
      }
      if (!callee.inputs.parameters.count(it.item_input)) {
        return field_error(iterator->child_path("itemInput"),
                           "component " + quote_value(task.component) + " has no input " +
                               quote_value(it.item_input));
      }
      ASSIGN_OR_RETURN(auto items, iterator->map("items"));
      if (!items) return field_error(iterator->child_path("items"), "required");
      RETURN_IF_ERROR(items->only({"raw", "inputParameter"}));
      ASSIGN_OR_RETURN(auto raw, items->string("raw"));
      ASSIGN_OR_RETURN(auto input, items->string("inputParameter"));
      if (raw.has_value() == input.has_value()) {
        return field_error(items->path(), "needs exactly one of raw and inputParameter");
      }
      if (raw) {
        json parsed = json::parse(*raw, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_array()) {
          return field_error(items->child_path("raw"), quote_value(*raw) + " is not a JSON list");
        }
        it.raw_items = std::move(parsed);
      } else {
        it.input_parameter = *input;
      }
      task.iterator = std::move(it);
    }
    ASSIGN_OR_RETURN(auto iterator_policy, t.map("iteratorPolicy"));
    if (iterator_policy) {
      RETURN_IF_ERROR(iterator_policy->only({"parallelismLimit"}));
      ASSIGN_OR_RETURN(auto limit, iterator_policy->integer("parallelismLimit", 0, 100000));
      task.parallelism_limit = static_cast<int32_t>(limit.value_or(0));
    }

    ASSIGN_OR_RETURN(auto inputs, t.map("inputs"));
    if (inputs) RETURN_IF_ERROR(parse_inputs(*inputs, task, owner, callee));
    // Every input the callee needs has a value: given here, defaulted, or the loop item.
    for (const auto& [name, def] : callee.inputs.parameters) {
      if (task.parameters.count(name) || def.default_value || def.optional) continue;
      if (task.iterator && task.iterator->item_input == name) continue;
      return field_error(pipeline_field(path, "inputs.parameters"),
                         "component " + quote_value(task.component) + " needs input parameter " +
                             quote_value(name) + ", which is not given");
    }
    for (const auto& [name, def] : callee.inputs.artifacts) {
      (void)def;
      if (!task.artifacts.count(name)) {
        return field_error(pipeline_field(path, "inputs.artifacts"),
                           "component " + quote_value(task.component) + " needs input artifact " +
                               quote_value(name) + ", which is not given");
      }
    }
    if (task.iterator && !task.iterator->input_parameter.empty() &&
        !task.parameters.count(task.iterator->input_parameter)) {
      return field_error(pipeline_field(path, "parameterIterator.items.inputParameter"),
                         quote_value(task.iterator->input_parameter) +
                             " is not one of the task's input parameters");
    }

    ASSIGN_OR_RETURN(auto trigger, t.map("triggerPolicy"));
    if (trigger) {
      RETURN_IF_ERROR(trigger->only({"condition", "strategy"}));
      ASSIGN_OR_RETURN(auto condition, trigger->string("condition"));
      if (condition) {
        auto expr = pipelines::CelExpression::Parse(*condition);
        if (!expr.ok()) {
          return field_error(trigger->child_path("condition"),
                             quote_value(*condition) + ": " + expr.status().message());
        }
        for (const auto& ident : expr->identifiers()) {
          if (ident != "inputs") {
            return field_error(trigger->child_path("condition"),
                               "unknown identifier " + quote_value(ident) +
                                   " (a condition reads inputs.parameter_values)");
          }
        }
        for (const auto& ref_name : expr->parameter_refs()) {
          if (!task.parameters.count(ref_name)) {
            return field_error(trigger->child_path("condition"),
                               "reads " + quote_value(ref_name) +
                                   ", which is not one of the task's input parameters");
          }
        }
        task.condition = *condition;
      }
      ASSIGN_OR_RETURN(auto strategy, trigger->string("strategy"));
      if (strategy) {
        if (*strategy == "ALL_UPSTREAM_TASKS_SUCCEEDED") {
          task.strategy = TriggerStrategy::kAllUpstreamSucceeded;
        } else if (*strategy == "ALL_UPSTREAM_TASKS_COMPLETED") {
          task.strategy = TriggerStrategy::kAllUpstreamCompleted;
        } else {
          return field_error(trigger->child_path("strategy"),
                             quote_value(*strategy) +
                                 " is not supported (ALL_UPSTREAM_TASKS_SUCCEEDED, "
                                 "ALL_UPSTREAM_TASKS_COMPLETED)");
        }
      }
    }
    ASSIGN_OR_RETURN(auto retry, t.map("retryPolicy"));
    if (retry) {
      RETURN_IF_ERROR(
          retry->only({"maxRetryCount", "backoffDuration", "backoffFactor", "backoffMaxDuration"}));
      ASSIGN_OR_RETURN(auto count, retry->integer("maxRetryCount", 0, kMaxTaskRetries));
      task.retry.max_retries = static_cast<int32_t>(count.value_or(0));
      ASSIGN_OR_RETURN(auto backoff, retry->string("backoffDuration"));
      if (backoff) {
        ASSIGN_OR_RETURN(task.retry.backoff_seconds,
                         seconds_of(*backoff, retry->child_path("backoffDuration")));
      }
      ASSIGN_OR_RETURN(auto max_backoff, retry->string("backoffMaxDuration"));
      if (max_backoff) {
        ASSIGN_OR_RETURN(task.retry.max_backoff_seconds,
                         seconds_of(*max_backoff, retry->child_path("backoffMaxDuration")));
      }
      ASSIGN_OR_RETURN(auto factor, retry->scalar("backoffFactor"));
      if (factor) {
        char* end = nullptr;
        const double f = std::strtod(factor->c_str(), &end);
        if (end == factor->c_str() || *end != '\0' || !std::isfinite(f) || f < 1 || f > 100) {
          return field_error(retry->child_path("backoffFactor"),
                             quote_value(*factor) + " is not a number in [1, 100]");
        }
        task.retry.backoff_factor = f;
      }
    }
    ASSIGN_OR_RETURN(auto caching, t.map("cachingOptions"));
    if (caching) {
      RETURN_IF_ERROR(caching->only({"enableCache"}));
      ASSIGN_OR_RETURN(auto enable, caching->boolean("enableCache"));
      task.enable_cache = enable.value_or(false);
    }
    ASSIGN_OR_RETURN(auto info, t.map("taskInfo"));
    if (info) {
      RETURN_IF_ERROR(info->only({"name"}));
      ASSIGN_OR_RETURN(auto display, info->string("name"));
      task.display_name = display.value_or("");
    }
    RETURN_IF_ERROR(t.reject_unknown());
    return task;
  }

  Status parse_inputs(YamlReader& inputs, PipelineTask& task, const Component& owner,
                      const Component& callee) {
    RETURN_IF_ERROR(inputs.only({"parameters", "artifacts"}));
    const YAML::Node params = inputs.node("parameters");
    const std::string ppath = inputs.child_path("parameters");
    if (params && !params.IsNull()) {
      if (!params.IsMap()) return field_error(ppath, "must be a map");
      for (const auto& kv : params) {
        const std::string name = kv.first.as<std::string>();
        const std::string path = pipeline_field(ppath, name);
        auto def = callee.inputs.parameters.find(name);
        if (def == callee.inputs.parameters.end()) {
          return field_error(path, "component " + quote_value(task.component) +
                                       " has no input parameter " + quote_value(name));
        }
        ASSIGN_OR_RETURN(YamlReader p, YamlReader::Map(kv.second, path));
        RETURN_IF_ERROR(p.only({"componentInputParameter", "taskOutputParameter", "runtimeValue",
                                "parameterExpressionSelector"}));
        ParameterSource src;
        int given = 0;
        ASSIGN_OR_RETURN(auto from_input, p.string("componentInputParameter"));
        if (from_input) {
          ++given;
          src.kind = ParameterSource::Kind::kComponentInput;
          src.name = *from_input;
          if (!owner.inputs.parameters.count(src.name)) {
            return field_error(
                p.child_path("componentInputParameter"),
                quote_value(src.name) + " is not an input parameter of " +
                    (owner.name.empty() ? std::string("the pipeline") : quote_value(owner.name)));
          }
        }
        ASSIGN_OR_RETURN(auto from_task, p.map("taskOutputParameter"));
        if (from_task) {
          ++given;
          RETURN_IF_ERROR(from_task->only({"producerTask", "outputParameterKey"}));
          src.kind = ParameterSource::Kind::kTaskOutput;
          ASSIGN_OR_RETURN(auto producer, from_task->string("producerTask"));
          ASSIGN_OR_RETURN(auto key, from_task->string("outputParameterKey"));
          if (!producer) return field_error(from_task->child_path("producerTask"), "required");
          if (!key) return field_error(from_task->child_path("outputParameterKey"), "required");
          src.producer_task = *producer;
          src.name = *key;
        }
        ASSIGN_OR_RETURN(auto runtime, p.map("runtimeValue"));
        if (runtime) {
          ++given;
          RETURN_IF_ERROR(runtime->only({"constant"}));
          src.kind = ParameterSource::Kind::kConstant;
          const YAML::Node constant = runtime->node("constant");
          if (!constant) return field_error(runtime->child_path("constant"), "required");
          ASSIGN_OR_RETURN(src.constant, parameter_value(constant, def->second.type,
                                                         runtime->child_path("constant")));
        }
        if (given != 1) {
          return field_error(path,
                             "needs exactly one of componentInputParameter, taskOutputParameter "
                             "and runtimeValue");
        }
        ASSIGN_OR_RETURN(auto selector, p.string("parameterExpressionSelector"));
        if (selector) {
          auto expr = pipelines::CelExpression::Parse(*selector);
          if (!expr.ok()) {
            return field_error(p.child_path("parameterExpressionSelector"),
                               quote_value(*selector) + ": " + expr.status().message());
          }
          src.selector = *selector;
        }
        task.parameters[name] = std::move(src);
      }
    }
    const YAML::Node artifacts = inputs.node("artifacts");
    const std::string apath = inputs.child_path("artifacts");
    if (artifacts && !artifacts.IsNull()) {
      if (!artifacts.IsMap()) return field_error(apath, "must be a map");
      for (const auto& kv : artifacts) {
        const std::string name = kv.first.as<std::string>();
        const std::string path = pipeline_field(apath, name);
        if (!callee.inputs.artifacts.count(name)) {
          return field_error(path, "component " + quote_value(task.component) +
                                       " has no input artifact " + quote_value(name));
        }
        ASSIGN_OR_RETURN(YamlReader a, YamlReader::Map(kv.second, path));
        RETURN_IF_ERROR(a.only({"componentInputArtifact", "taskOutputArtifact"}));
        ArtifactSource src;
        ASSIGN_OR_RETURN(auto from_input, a.string("componentInputArtifact"));
        ASSIGN_OR_RETURN(auto from_task, a.map("taskOutputArtifact"));
        if (from_input.has_value() == from_task.has_value()) {
          return field_error(path,
                             "needs exactly one of componentInputArtifact and "
                             "taskOutputArtifact");
        }
        if (from_input) {
          src.kind = ArtifactSource::Kind::kComponentInput;
          src.name = *from_input;
          if (!owner.inputs.artifacts.count(src.name)) {
            return field_error(
                a.child_path("componentInputArtifact"),
                quote_value(src.name) + " is not an input artifact of " +
                    (owner.name.empty() ? std::string("the pipeline") : quote_value(owner.name)));
          }
        } else {
          RETURN_IF_ERROR(from_task->only({"producerTask", "outputArtifactKey"}));
          ASSIGN_OR_RETURN(auto producer, from_task->string("producerTask"));
          ASSIGN_OR_RETURN(auto key, from_task->string("outputArtifactKey"));
          if (!producer) return field_error(from_task->child_path("producerTask"), "required");
          if (!key) return field_error(from_task->child_path("outputArtifactKey"), "required");
          src.producer_task = *producer;
          src.name = *key;
        }
        task.artifacts[name] = std::move(src);
      }
    }
    return inputs.reject_unknown();
  }

  // Producers and dependencies name tasks of the same DAG, and the outputs they read exist.
  Status check_references(const Dag& dag, const PipelineTask& task, const std::string& path) {
    for (const auto& dep : task.dependent_tasks) {
      if (!dag.tasks.count(dep)) {
        return field_error(pipeline_field(path, "dependentTasks"),
                           "there is no task " + quote_value(dep) + " in this DAG");
      }
    }
    for (const auto& [name, src] : task.parameters) {
      if (src.kind != ParameterSource::Kind::kTaskOutput) continue;
      const std::string p =
          pipeline_field(path, "inputs.parameters." + name + ".taskOutputParameter");
      auto producer = dag.tasks.find(src.producer_task);
      if (producer == dag.tasks.end()) {
        return field_error(pipeline_field(p, "producerTask"),
                           "there is no task " + quote_value(src.producer_task) + " in this DAG");
      }
      const Component& pc = components_.at(producer->second.component).component;
      if (!pc.outputs.parameters.count(src.name)) {
        return field_error(pipeline_field(p, "outputParameterKey"),
                           "task " + quote_value(src.producer_task) + " has no output parameter " +
                               quote_value(src.name));
      }
    }
    for (const auto& [name, src] : task.artifacts) {
      if (src.kind != ArtifactSource::Kind::kTaskOutput) continue;
      const std::string p =
          pipeline_field(path, "inputs.artifacts." + name + ".taskOutputArtifact");
      auto producer = dag.tasks.find(src.producer_task);
      if (producer == dag.tasks.end()) {
        return field_error(pipeline_field(p, "producerTask"),
                           "there is no task " + quote_value(src.producer_task) + " in this DAG");
      }
      const Component& pc = components_.at(producer->second.component).component;
      if (!pc.outputs.artifacts.count(src.name)) {
        return field_error(pipeline_field(p, "outputArtifactKey"),
                           "task " + quote_value(src.producer_task) + " has no output artifact " +
                               quote_value(src.name));
      }
    }
    return Status::Ok();
  }

  // Kahn's algorithm over dependentTasks and producers; what is left is a cycle.
  Result<std::vector<std::string>> topological_order(const Dag& dag, const std::string& path) {
    std::map<std::string, std::set<std::string>> upstream;
    for (const auto& [name, task] : dag.tasks) {
      auto& up = upstream[name];
      up.insert(task.dependent_tasks.begin(), task.dependent_tasks.end());
      for (const auto& [_, src] : task.parameters) {
        if (src.kind == ParameterSource::Kind::kTaskOutput) up.insert(src.producer_task);
      }
      for (const auto& [_, src] : task.artifacts) {
        if (src.kind == ArtifactSource::Kind::kTaskOutput) up.insert(src.producer_task);
      }
    }
    std::vector<std::string> order;
    std::set<std::string> done;
    while (order.size() < dag.tasks.size()) {
      bool progressed = false;
      for (const auto& [name, up] : upstream) {
        if (done.count(name)) continue;
        bool ready = true;
        for (const auto& u : up) ready = ready && done.count(u);
        if (!ready) continue;
        order.push_back(name);
        done.insert(name);
        progressed = true;
      }
      if (!progressed) {
        std::string cycle;
        for (const auto& [name, up] : upstream) {
          if (!done.count(name)) cycle += (cycle.empty() ? "" : ", ") + quote_value(name);
        }
        return field_error(path, "the tasks " + cycle + " depend on each other in a cycle");
      }
    }
    return order;
  }

  Status parse_dag_outputs(YamlReader& outputs, Dag& dag) {
    RETURN_IF_ERROR(outputs.only({"parameters", "artifacts"}));
    const YAML::Node params = outputs.node("parameters");
    if (params && !params.IsNull()) {
      const std::string ppath = outputs.child_path("parameters");
      if (!params.IsMap()) return field_error(ppath, "must be a map");
      for (const auto& kv : params) {
        const std::string name = kv.first.as<std::string>();
        ASSIGN_OR_RETURN(YamlReader o, YamlReader::Map(kv.second, pipeline_field(ppath, name)));
        // valueFromOneof (dsl.OneOf) is refused here by name.
        RETURN_IF_ERROR(o.only({"valueFromParameter"}));
        ASSIGN_OR_RETURN(auto from, o.map("valueFromParameter"));
        if (!from) return field_error(o.child_path("valueFromParameter"), "required");
        RETURN_IF_ERROR(from->only({"producerSubtask", "outputParameterKey"}));
        ASSIGN_OR_RETURN(auto producer, from->string("producerSubtask"));
        ASSIGN_OR_RETURN(auto key, from->string("outputParameterKey"));
        if (!producer || !dag.tasks.count(*producer)) {
          return field_error(
              from->child_path("producerSubtask"),
              "there is no task " + quote_value(producer.value_or("")) + " in this DAG");
        }
        const Component& pc = components_.at(dag.tasks.at(*producer).component).component;
        if (!key || !pc.outputs.parameters.count(*key)) {
          return field_error(from->child_path("outputParameterKey"),
                             "task " + quote_value(*producer) + " has no output parameter " +
                                 quote_value(key.value_or("")));
        }
        dag.output_parameters[name] = {*producer, *key};
      }
    }
    const YAML::Node artifacts = outputs.node("artifacts");
    if (artifacts && !artifacts.IsNull()) {
      const std::string apath = outputs.child_path("artifacts");
      if (!artifacts.IsMap()) return field_error(apath, "must be a map");
      for (const auto& kv : artifacts) {
        const std::string name = kv.first.as<std::string>();
        ASSIGN_OR_RETURN(YamlReader o, YamlReader::Map(kv.second, pipeline_field(apath, name)));
        RETURN_IF_ERROR(o.only({"artifactSelectors"}));
        const YAML::Node selectors = o.node("artifactSelectors");
        const std::string spath = o.child_path("artifactSelectors");
        if (!selectors || !selectors.IsSequence() || selectors.size() != 1) {
          return field_error(spath, "must be a list of one selector");
        }
        ASSIGN_OR_RETURN(YamlReader s, YamlReader::Map(selectors[0], spath + "[0]"));
        RETURN_IF_ERROR(s.only({"producerSubtask", "outputArtifactKey"}));
        ASSIGN_OR_RETURN(auto producer, s.string("producerSubtask"));
        ASSIGN_OR_RETURN(auto key, s.string("outputArtifactKey"));
        if (!producer || !dag.tasks.count(*producer)) {
          return field_error(
              s.child_path("producerSubtask"),
              "there is no task " + quote_value(producer.value_or("")) + " in this DAG");
        }
        const Component& pc = components_.at(dag.tasks.at(*producer).component).component;
        if (!key || !pc.outputs.artifacts.count(*key)) {
          return field_error(s.child_path("outputArtifactKey"), "task " + quote_value(*producer) +
                                                                    " has no output artifact " +
                                                                    quote_value(key.value_or("")));
        }
        dag.output_artifacts[name] = {*producer, *key};
      }
    }
    return outputs.reject_unknown();
  }

  std::map<std::string, RawComponent>& components_;
  const std::map<std::string, Executor>& executors_;
  size_t task_count_ = 0;
};

}  // namespace

Result<std::shared_ptr<const Dag>> parse_dags(std::map<std::string, RawComponent>& components,
                                              const std::map<std::string, Executor>& executors,
                                              const RawComponent& root, const std::string& path) {
  DagParser dags(components, executors);
  return dags.parse(root.dag, path, root.component, 0);
}

}  // namespace cadre::spec

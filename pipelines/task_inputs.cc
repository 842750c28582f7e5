#include "pipelines/task_inputs.h"

#include <map>
#include <optional>

#include "pipelines/cel_expression.h"
#include "pipelines/json_text.h"
#include "pipelines/placeholders.h"
#include "pipelines/task_outputs.h"

namespace cadre::pipelines {

using nlohmann::json;
using protocol::PipelineArtifact;
using protocol::PipelineState;
using protocol::PipelineTaskStatus;

namespace {

// One parameter's value where its source has one; otherwise why not, in `absent`.
std::optional<json> source_value(const spec::ParameterSource& src, const InputScope& scope,
                                 std::string& absent) {
  switch (src.kind) {
    case spec::ParameterSource::Kind::kComponentInput:
      absent = "its source '" + src.name + "' has no value";
      if (scope.inputs.contains(src.name)) return scope.inputs[src.name];
      return std::nullopt;
    case spec::ParameterSource::Kind::kTaskOutput: {
      const PipelineTaskStatus* p = scope.sibling(src.producer_task);
      absent = "task '" + src.producer_task + "' did not produce '" + src.name + "'" +
               (p ? " (it is " + std::string(protocol::enum_name(p->state)) + ")" : "");
      if (p && p->state == PipelineState::kSucceeded) {
        json outs = parse_json_object(p->outputs);
        if (outs.contains(src.name)) return outs[src.name];
      }
      return std::nullopt;
    }
    case spec::ParameterSource::Kind::kConstant:
      return src.constant;
  }
  return std::nullopt;
}

// The task's parameter sources, each through its selector where it has one;
// `missing` says why each that has no value has none.
Status source_parameters(const spec::PipelineTask& task, const InputScope& scope, TaskInputs& out,
                         std::map<std::string, std::string>& missing) {
  for (const auto& [name, src] : task.parameters) {
    std::string absent;
    std::optional<json> v = source_value(src, scope, absent);
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
      missing[name] = absent;
    }
  }
  return Status::Ok();
}

// The callee's declared inputs: defaults for what has no value, types coerced.
Status complete_parameters(const spec::PipelineTask& task, const spec::Component& callee,
                           const std::map<std::string, std::string>& missing, TaskInputs& out) {
  for (const auto& [name, def] : callee.inputs.parameters) {
    if (task.iterator && name == task.iterator->item_input) continue;
    if (!out.parameters.contains(name)) {
      if (def.default_value) {
        out.parameters[name] = *def.default_value;
      } else if (!def.optional) {
        auto why = missing.find(name);
        return InvalidArgument("input parameter '" + name + "' has no value" +
                               (why == missing.end() ? "" : ": " + why->second));
      }
      continue;
    }
    ASSIGN_OR_RETURN(out.parameters[name], coerce_parameter(out.parameters[name], def.type, name));
  }
  return Status::Ok();
}

Status source_artifacts(const spec::PipelineTask& task, const InputScope& scope, TaskInputs& out) {
  for (const auto& [name, src] : task.artifacts) {
    std::optional<PipelineArtifact> a;
    if (src.kind == spec::ArtifactSource::Kind::kComponentInput) {
      for (const auto& have : scope.artifacts) {
        if (have.name == src.name) a = have;
      }
    } else {
      const PipelineTaskStatus* p = scope.sibling(src.producer_task);
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
  return Status::Ok();
}

}  // namespace

Result<TaskInputs> resolve_task_inputs(const spec::PipelineTask& task,
                                       const spec::Component& callee, const InputScope& scope) {
  TaskInputs out;
  std::map<std::string, std::string> missing;  // why an input has no value
  RETURN_IF_ERROR(source_parameters(task, scope, out, missing));
  RETURN_IF_ERROR(complete_parameters(task, callee, missing, out));
  RETURN_IF_ERROR(source_artifacts(task, scope, out));
  return out;
}

}  // namespace cadre::pipelines

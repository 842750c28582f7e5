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

Result<TaskInputs> resolve_task_inputs(const spec::PipelineTask& task,
                                       const spec::Component& callee, const InputScope& scope) {
  TaskInputs out;
  std::map<std::string, std::string> missing;  // why an input has no value
  for (const auto& [name, src] : task.parameters) {
    std::optional<json> v;
    std::string absent;
    switch (src.kind) {
      case spec::ParameterSource::Kind::kComponentInput:
        if (scope.inputs.contains(src.name)) v = scope.inputs[src.name];
        absent = "its source '" + src.name + "' has no value";
        break;
      case spec::ParameterSource::Kind::kTaskOutput: {
        const PipelineTaskStatus* p = scope.sibling(src.producer_task);
        if (p && p->state == PipelineState::kSucceeded) {
          json outs = parse_json_object(p->outputs);
          if (outs.contains(src.name)) v = outs[src.name];
        }
        absent = "task '" + src.producer_task + "' did not produce '" + src.name + "'" +
                 (p ? " (it is " + std::string(protocol::enum_name(p->state)) + ")" : "");
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
      missing[name] = absent;
    }
  }
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
  return out;
}

}  // namespace cadre::pipelines

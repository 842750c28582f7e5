// A task's inputs, resolved as KFP's driver resolves them when the task is
// triggered: each input parameter from its source (the enclosing DAG's inputs, an
// upstream task's output, a constant) through its selector (a CEL expression),
// then the callee's defaults and declared types; each input artifact from the
// DAG's inputs or an upstream task's outputs. Pure.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/status.h"

namespace cadre::pipelines {

struct TaskInputs {
  nlohmann::json parameters = nlohmann::json::object();  // name -> typed value
  std::vector<protocol::PipelineArtifact> artifacts;
};

// What a task sees from where it stands: its DAG's inputs and its sibling tasks.
struct InputScope {
  const nlohmann::json& inputs;                              // the DAG's input parameters
  const std::vector<protocol::PipelineArtifact>& artifacts;  // the DAG's input artifacts
  // A task of the same DAG by its name; nullptr when it has no record yet.
  std::function<const protocol::PipelineTaskStatus*(const std::string& name)> sibling;
};

// InvalidArgument naming the input (and, for one with no value, why: its source had
// none, or the upstream task did not produce it and what state it is in) when an
// input the callee needs is missing, a selector fails, or a value is not of the
// declared type. An output of an upstream task counts only once it has SUCCEEDED.
Result<TaskInputs> resolve_task_inputs(const spec::PipelineTask& task,
                                       const spec::Component& callee, const InputScope& scope);

}  // namespace cadre::pipelines

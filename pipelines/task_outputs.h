// What a succeeded step produced, made from what it left behind: the files in its
// task folder (parameters/<name>, artifacts/<name>, KFP's executor_output.json),
// the model its job exported, and what its job reported when it ended (final
// metrics; a service's url and revision; an experiment's best trial). Pure: the
// supervisor reads the files (task_output_reader.h), this decides what they mean.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/status.h"

namespace cadre::pipelines {

// What a task's folder held after its job succeeded.
struct TaskOutputFiles {
  std::map<std::string, std::string> parameters;  // name -> file contents (absent: not written)
  std::optional<std::string> executor_output;     // executor_output.json, if written
  std::set<std::string> artifacts;                // artifact_names that exist
  std::string exported_model;                     // the model the job exported (absolute path)
  std::string error;                              // reading failed (not missing): why
};

struct TaskOutputs {
  nlohmann::json parameters = nlohmann::json::object();  // name -> typed value
  std::vector<protocol::PipelineArtifact> artifacts;
};

// The step as collect_task_outputs sees it.
struct FinishedStep {
  const spec::Component* component = nullptr;          // its outputs' declarations
  bool workload = false;                               // a workload executor (Job, TrainJob, ...)
  std::string job;                                     // its record's `job` (step_job.h)
  std::string dir;                                     // its task folder (absolute)
  nlohmann::json reported = nlohmann::json::object();  // what its job reported at the end
};

// Every declared output, each from the first place that has it: a parameter from
// executor_output.json, else its file, else the job's report of that name; an
// artifact at artifacts/<name> (a workload's Model may be the model its job
// exported; a Metrics artifact no one described holds the job's final metrics).
// InvalidArgument naming the output and where it was looked for when one is missing
// or not of its declared type.
Result<TaskOutputs> collect_task_outputs(const FinishedStep& step, const TaskOutputFiles& files);

// A value made to fit the declared type where KFP's launcher would accept it (a
// number's text for a string, "3" for an integer, 3.0 for an integer).
Result<nlohmann::json> coerce_parameter(const nlohmann::json& value, spec::ParameterType type,
                                        const std::string& name);

}  // namespace cadre::pipelines

// KFP's command-line placeholders, as the KFP v2 launcher substitutes them in a
// container executor's command and args:
//   {{$}}                                        the ExecutorInput, as JSON
//   {{$.inputs.parameters['x']}}                 a parameter's value (strings raw,
//                                                everything else as JSON)
//   {{$.inputs.artifacts['x'].path|uri|metadata}}
//   {{$.outputs.parameters['x'].output_file}}    where the step writes that output
//   {{$.outputs.artifacts['x'].path|uri|metadata}}
//   {{$.outputs.output_file}}                    the executor output file
//   {{$.pipeline_job_name}}, {{$.pipeline_job_resource_name}}, {{$.pipeline_job_uuid}},
//   {{$.pipeline_task_name}}, {{$.pipeline_task_uuid}}, {{$.pipeline_root}},
//   {{$.pipeline_job_create_time_utc}}, {{$.pipeline_job_schedule_time_utc}}
// and the structured arguments the compiler writes as JSON strings:
//   {"Concat": [...]}  and  {"IfPresent": {"InputName": "x", "Then": [...], "Else": [...]}}.
// This file has no dependency on the spec: the spec checks references at apply
// time with scan_placeholders, the driver substitutes at launch with resolve_args.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/status.h"

namespace cadre::pipelines {

// One {{$...}} reference found in an argument.
struct PlaceholderRef {
  enum class Kind {
    kExecutorInput,    // {{$}}
    kInputParameter,   // name
    kInputArtifact,    // name, field (path, uri, metadata)
    kOutputParameter,  // name, field (output_file)
    kOutputArtifact,   // name, field
    kOutputFile,       // {{$.outputs.output_file}}
    kPipelineInfo,     // field: pipeline_job_name, pipeline_task_name, ...
    kIfPresent,        // name: the input IfPresent tests
  };
  Kind kind = Kind::kExecutorInput;
  std::string name;
  std::string field;
};

// Every reference in `arg`, or why it is not a placeholder KFP defines.
Result<std::vector<PlaceholderRef>> scan_placeholders(const std::string& arg);

struct ArtifactValue {
  std::string uri;           // file:///...
  std::string path;          // the local path the step reads or writes
  std::string schema_title;  // system.Model, system.Metrics, ...
  nlohmann::json metadata = nlohmann::json::object();
};

// What one execution of a container executor sees.
struct ExecutorContext {
  nlohmann::json parameters = nlohmann::json::object();  // input parameter values by name
  std::map<std::string, ArtifactValue> input_artifacts;
  std::map<std::string, std::string> output_parameter_files;
  std::map<std::string, ArtifactValue> output_artifacts;
  std::string output_file;                           // executor_output.json
  std::map<std::string, std::string> pipeline_info;  // pipeline_job_name -> value, ...

  // KFP's ExecutorInput message as JSON (what {{$}} becomes).
  nlohmann::json executor_input() const;
};

// The string a parameter value becomes on a command line.
std::string parameter_text(const nlohmann::json& value);

// `args` with every placeholder substituted; IfPresent may add or drop arguments.
Result<std::vector<std::string>> resolve_args(const std::vector<std::string>& args,
                                              const ExecutorContext& context);

}  // namespace cadre::pipelines

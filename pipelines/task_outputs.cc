#include "pipelines/task_outputs.h"

#include <cmath>

#include "pipelines/json_text.h"
#include "pipelines/placeholders.h"
#include "pipelines/step_job.h"

namespace cadre::pipelines {

using nlohmann::json;
using protocol::PipelineArtifact;

namespace {

std::string strip(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Result<json> output_parameter(const FinishedStep& step, const TaskOutputFiles& files,
                              const json& values, const std::string& name,
                              const spec::ParameterDefinition& def) {
  if (values.is_object() && values.contains(name)) {
    return coerce_parameter(values[name], def.type, name);
  }
  auto file = files.parameters.find(name);
  if (file == files.parameters.end() && step.reported.contains(name)) {
    auto v = coerce_parameter(step.reported[name], def.type, name);
    if (!v.ok()) return InvalidArgument("output parameter: " + v.status().message());
    return v;
  }
  if (file == files.parameters.end()) {
    if (is_service_job(step.job)) {
      return InvalidArgument("output parameter '" + name +
                             "' is not something a service reports (url, name, revision)");
    }
    if (is_experiment_job(step.job)) {
      return InvalidArgument("output parameter '" + name +
                             "' is neither a parameter nor a metric of the best trial, nor "
                             "best_trial");
    }
    return InvalidArgument("output parameter '" + name + "' was not written (" + step.dir +
                           "/parameters/" + name + ") and its job reported no metric '" + name +
                           "'");
  }
  if (def.type == spec::ParameterType::kString) {
    // `echo value > file` is how most container steps write one: drop its newline.
    std::string text = file->second;
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return json(text);
  }
  auto v = spec::parse_parameter_text(strip(file->second), def.type, name);
  if (!v.ok()) return InvalidArgument("output parameter: " + v.status().message());
  return v;
}

Result<PipelineArtifact> output_artifact(const FinishedStep& step, const TaskOutputFiles& files,
                                         const json& described, const std::string& name,
                                         const spec::ArtifactDefinition& def) {
  PipelineArtifact a;
  a.name = name;
  a.uri = "file://" + step.dir + "/artifacts/" + name;
  a.schema_title = def.schema_title;
  if (step.workload && !files.artifacts.count(name)) {
    // A workload's model is the one its job exported, where trainjob:// finds it.
    if (def.schema_title == "system.Model" && !files.exported_model.empty()) {
      a.uri = "file://" + files.exported_model;
    } else if (def.schema_title != "system.Metrics") {
      return InvalidArgument("output artifact '" + name + "' was not written (" + step.dir +
                             "/artifacts/" + name + ")" +
                             (def.schema_title == "system.Model"
                                  ? " and its job exported no model (model.cadre or model.pt "
                                    "in $CADRE_CHECKPOINT_DIR)"
                                  : ""));
    }
  }
  json metadata = json::object();
  bool has_metadata = false;
  if (described.is_object() && described.contains(name) && described[name].is_object()) {
    const json& list = described[name].value("artifacts", json::array());
    if (list.is_array() && !list.empty() && list[0].is_object()) {
      metadata = list[0].value("metadata", json::object());
      if (!metadata.is_object()) metadata = json::object();
      has_metadata = true;
    }
  }
  if (!has_metadata && def.schema_title == "system.Metrics") {
    // KFP's Metrics artifact holds name -> number: the job's final metrics.
    for (const auto& [key, value] : step.reported.items()) {
      if (value.is_number()) metadata[key] = value;
    }
  }
  a.metadata = json_text(metadata);
  return a;
}

}  // namespace

Result<json> coerce_parameter(const json& v, spec::ParameterType type, const std::string& name) {
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
  return InvalidArgument("input parameter '" + name + "': " + shortened(json_text(v)) +
                         " is not a " + spec::parameter_type_name(type) + " value");
}

Result<TaskOutputs> collect_task_outputs(const FinishedStep& step, const TaskOutputFiles& files) {
  if (!files.error.empty()) {
    return FailedPrecondition("reading its outputs failed: " + files.error);
  }
  json executor_output = json::object();
  if (files.executor_output) {
    executor_output = json::parse(*files.executor_output, nullptr, false);
    if (!executor_output.is_object()) {
      return InvalidArgument("executor_output.json is not a JSON object");
    }
  }
  const json values = executor_output.value("parameterValues", json::object());
  const json described = executor_output.value("artifacts", json::object());
  TaskOutputs out;
  for (const auto& [name, def] : step.component->outputs.parameters) {
    ASSIGN_OR_RETURN(out.parameters[name], output_parameter(step, files, values, name, def));
  }
  for (const auto& [name, def] : step.component->outputs.artifacts) {
    ASSIGN_OR_RETURN(PipelineArtifact a, output_artifact(step, files, described, name, def));
    out.artifacts.push_back(std::move(a));
  }
  return out;
}

}  // namespace cadre::pipelines

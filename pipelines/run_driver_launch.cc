// How a task's step starts and where its outputs are read: the RunDriver's
// launch_of and read_of, with the step's cache key (run_driver.h).
#include "pipelines/json_text.h"
#include "pipelines/placeholders.h"
#include "pipelines/run_driver.h"
#include "pipelines/spec_placeholders.h"
#include "pipelines/step_job.h"
#include "protocol/digest.h"
#include "protocol/wall_clock.h"

namespace cadre::pipelines {

using nlohmann::json;
using protocol::PipelineArtifact;
using protocol::PipelineRunStatus;
using protocol::PipelineTaskStatus;

namespace {

// Makes the task's output folders (as the replica's user), then runs the step.
constexpr const char* kPrepareScript =
    "mkdir -p \"$CADRE_CHECKPOINT_DIR/parameters\" \"$CADRE_CHECKPOINT_DIR/artifacts\" && "
    "exec \"$@\"";

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
                    {"parameters", parse_json_object(inputs_json)},
                    {"artifacts", artifacts}};
  return protocol::sha256_hex(json_text(key));
}

Result<TaskLaunch> RunDriver::launch_of(const PipelineRunStatus& run,
                                        const PipelineTaskStatus& task) const {
  const spec::Component& c = spec_->components.at(task.component);
  const spec::Executor& executor = spec_->executors.at(c.executor);
  const std::string dir = options_.run_dir + "/" + task.id;
  ExecutorContext ctx;
  ctx.parameters = parse_json_object(task.inputs);
  for (const auto& a : task.input_artifacts) {
    ArtifactValue v;
    v.uri = a.uri;
    v.path = a.uri.compare(0, 7, "file://") == 0 ? a.uri.substr(7) : a.uri;
    v.schema_title = a.schema_title;
    v.metadata = parse_json_object(a.metadata);
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
      launch.job = kServiceJobPrefix + launch.workload_name;
    } else if (launch.kind == "Experiment") {
      // Named as the run's jobs are: <run>-<n>.
      launch.workload_name = workload_name_of(task.job);
      launch.job = kExperimentJobPrefix + launch.workload_name;
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
      const json reported = parse_json_object(task.reported);
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

}  // namespace cadre::pipelines

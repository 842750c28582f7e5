#include "protocol/spec/pipeline_executor_parser.h"

#include <cmath>
#include <cstdlib>

#include "pipelines/placeholders.h"
#include "pipelines/spec_placeholders.h"
#include "protocol/spec/manifest.h"
#include "protocol/spec/quantity.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

using nlohmann::json;

namespace {

Result<ResourceRequest> parse_container_resources(YamlReader& r) {
  RETURN_IF_ERROR(r.only({"cpuLimit", "cpuRequest", "memoryLimit", "memoryRequest",
                          "resourceCpuLimit", "resourceCpuRequest", "resourceMemoryLimit",
                          "resourceMemoryRequest", "accelerator"}));
  ResourceRequest out;
  // A reservation is what Cadre places by: the request when given, else the limit.
  auto number = [&](const char* key) -> Result<std::optional<double>> {
    ASSIGN_OR_RETURN(auto text, r.scalar(key));
    if (!text) return std::optional<double>();
    char* end = nullptr;
    const double v = std::strtod(text->c_str(), &end);
    if (end == text->c_str() || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1e6) {
      return field_error(r.child_path(key), quote_value(*text) + " is not a number");
    }
    return std::optional<double>(v);
  };
  ASSIGN_OR_RETURN(auto cpu_limit, number("cpuLimit"));
  ASSIGN_OR_RETURN(auto cpu_request, number("cpuRequest"));
  if (auto cpu = cpu_request ? cpu_request : cpu_limit) {
    out.cpu_millis = static_cast<int64_t>(std::llround(*cpu * 1000));
  }
  // KFP writes memoryLimit/memoryRequest in (decimal) gigabytes.
  ASSIGN_OR_RETURN(auto mem_limit, number("memoryLimit"));
  ASSIGN_OR_RETURN(auto mem_request, number("memoryRequest"));
  if (auto mem = mem_request ? mem_request : mem_limit) {
    out.memory_bytes = static_cast<int64_t>(std::llround(*mem * 1e9));
  }
  for (const char* key : {"resourceCpuLimit", "resourceCpuRequest"}) {
    ASSIGN_OR_RETURN(auto text, r.scalar(key));
    if (!text) continue;
    auto millis = parse_cpu_millis(*text);
    if (!millis.ok()) return field_error(r.child_path(key), millis.status().message());
    if (std::string(key) == "resourceCpuRequest" || !cpu_request) out.cpu_millis = *millis;
  }
  for (const char* key : {"resourceMemoryLimit", "resourceMemoryRequest"}) {
    ASSIGN_OR_RETURN(auto text, r.scalar(key));
    if (!text) continue;
    auto bytes = parse_memory_bytes(*text);
    if (!bytes.ok()) return field_error(r.child_path(key), bytes.status().message());
    if (std::string(key) == "resourceMemoryRequest" || !mem_request) out.memory_bytes = *bytes;
  }
  ASSIGN_OR_RETURN(auto accel, r.map("accelerator"));
  if (accel) {
    RETURN_IF_ERROR(accel->only({"count", "type", "resourceCount", "resourceType"}));
    for (const char* key : {"count", "resourceCount"}) {
      ASSIGN_OR_RETURN(auto text, accel->scalar(key));
      if (!text) continue;
      char* end = nullptr;
      const long v = std::strtol(text->c_str(), &end, 10);
      if (end == text->c_str() || *end != '\0' || v < 0 || v > 64) {
        return field_error(accel->child_path(key), quote_value(*text) + " is not a GPU count");
      }
      out.gpus = static_cast<int32_t>(v);
    }
    for (const char* key : {"type", "resourceType"}) {
      ASSIGN_OR_RETURN(auto type, accel->string(key));
      (void)type;  // Cadre places whole GPUs of any model; the type is informational
    }
    RETURN_IF_ERROR(accel->reject_unknown());
  }
  RETURN_IF_ERROR(r.reject_unknown());
  return out;
}

Result<ContainerExecutor> parse_container(std::optional<YamlReader> c) {
  RETURN_IF_ERROR(c->only({"image", "command", "args", "env", "resources"}));
  ContainerExecutor out;
  ASSIGN_OR_RETURN(auto image, c->string("image"));
  out.image = image.value_or("");
  ASSIGN_OR_RETURN(auto command, c->string_list("command"));
  ASSIGN_OR_RETURN(auto args, c->string_list("args"));
  out.command = command.value_or(std::vector<std::string>{});
  out.args = args.value_or(std::vector<std::string>{});
  if (out.command.empty() && out.args.empty()) {
    // Without an image's entrypoint there is nothing to run.
    return field_error(c->child_path("command"), "required (the image's entrypoint is not used)");
  }
  if (out.command.empty()) {
    out.command = out.args;
    out.args.clear();
  }
  const YAML::Node env = c->node("env");
  if (env && !env.IsNull()) {
    const std::string epath = c->child_path("env");
    if (!env.IsSequence()) return field_error(epath, "must be a list");
    for (size_t i = 0; i < env.size(); ++i) {
      ASSIGN_OR_RETURN(YamlReader v,
                       YamlReader::Map(env[i], epath + "[" + std::to_string(i) + "]"));
      RETURN_IF_ERROR(v.only({"name", "value"}));
      ASSIGN_OR_RETURN(auto name, v.string("name"));
      if (!name || name->empty()) return field_error(v.child_path("name"), "required");
      ASSIGN_OR_RETURN(auto value, v.string("value"));
      out.env.push_back({*name, value.value_or("")});
    }
  }
  ASSIGN_OR_RETURN(auto resources, c->map("resources"));
  if (resources) {
    ASSIGN_OR_RETURN(out.resources, parse_container_resources(*resources));
  }
  RETURN_IF_ERROR(c->reject_unknown());
  return out;
}

// The kinds a step may run as.
bool is_step_kind(const std::string& kind) {
  return kind == "Job" || kind == "TrainJob" || kind == "Experiment" || kind == "InferenceService";
}

Result<WorkloadExecutor> parse_workload(YamlReader& w) {
  RETURN_IF_ERROR(w.only({"kind", "metadata", "spec"}));
  WorkloadExecutor out;
  ASSIGN_OR_RETURN(auto kind, w.string("kind"));
  if (!kind) {
    return field_error(w.child_path("kind"),
                       "required (Job, TrainJob, Experiment, InferenceService)");
  }
  if (!is_step_kind(*kind)) {
    return field_error(w.child_path("kind"),
                       quote_value(*kind) +
                           " cannot run as a pipeline step (Job, TrainJob, Experiment, "
                           "InferenceService)");
  }
  out.kind = *kind;
  ASSIGN_OR_RETURN(auto metadata, w.map("metadata"));
  if (metadata) {
    RETURN_IF_ERROR(metadata->only({"name"}));
    ASSIGN_OR_RETURN(auto name, metadata->string("name"));
    out.name = name.value_or("");
    RETURN_IF_ERROR(metadata->reject_unknown());
  }
  if (out.kind == "InferenceService" && out.name.empty()) {
    // The service outlives the run: it needs a name users know it by.
    return field_error(w.child_path("metadata.name"), "required for an InferenceService");
  }
  if (out.kind != "InferenceService" && !out.name.empty()) {
    return field_error(w.child_path("metadata.name"),
                       "a " + out.kind + " step is named after its run; leave the name out");
  }
  const YAML::Node spec = w.node("spec");
  if (!spec || !spec.IsMap()) return field_error(w.child_path("spec"), "required (a map)");
  YAML::Emitter text;
  text << spec;
  out.spec_yaml = text.c_str();
  RETURN_IF_ERROR(w.reject_unknown());
  return out;
}

Status check_reference(const pipelines::PlaceholderRef& ref, const Component& c,
                       const std::string& at) {
  using Kind = pipelines::PlaceholderRef::Kind;
  bool known = true;
  std::string what;
  switch (ref.kind) {
    case Kind::kInputParameter:
      known = c.inputs.parameters.count(ref.name);
      what = "input parameter";
      break;
    case Kind::kInputArtifact:
      known = c.inputs.artifacts.count(ref.name);
      what = "input artifact";
      break;
    case Kind::kOutputParameter:
      known = c.outputs.parameters.count(ref.name);
      what = "output parameter";
      break;
    case Kind::kOutputArtifact:
      known = c.outputs.artifacts.count(ref.name);
      what = "output artifact";
      break;
    case Kind::kIfPresent:
      known = c.inputs.parameters.count(ref.name) || c.inputs.artifacts.count(ref.name);
      what = "input";
      break;
    default:
      break;
  }
  if (known) return Status::Ok();
  return field_error(
      at, "component " + quote_value(c.name) + " has no " + what + " " + quote_value(ref.name));
}

Status check_strings(const std::vector<std::string>& strings, const Component& c,
                     const std::string& path) {
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    auto refs = pipelines::scan_placeholders(strings[i]);
    if (!refs.ok()) return field_error(at, refs.status().message());
    for (const auto& ref : *refs) RETURN_IF_ERROR(check_reference(ref, c, at));
  }
  return Status::Ok();
}

// A value of each input's type, for checking a workload's spec at apply time.
json sample_value(const ParameterDefinition& def) {
  if (def.default_value) return *def.default_value;
  switch (def.type) {
    case ParameterType::kString:
      return "sample";
    case ParameterType::kInteger:
      return 1;
    case ParameterType::kDouble:
      return 1.0;
    case ParameterType::kBoolean:
      return true;
    case ParameterType::kList:
      return json::array();
    case ParameterType::kStruct:
      return json::object();
  }
  return "sample";
}

pipelines::ExecutorContext sample_context(const Component& c) {
  pipelines::ExecutorContext ctx;
  auto artifact = [](const std::string& where, const std::string& name,
                     const ArtifactDefinition& def) {
    pipelines::ArtifactValue v;
    v.path = "/pipeline-root/sample/" + where + "/" + name;
    v.uri = "file://" + v.path;
    v.schema_title = def.schema_title;
    return v;
  };
  for (const auto& [name, def] : c.inputs.parameters) ctx.parameters[name] = sample_value(def);
  for (const auto& [name, def] : c.inputs.artifacts) {
    ctx.input_artifacts[name] = artifact("inputs", name, def);
  }
  for (const auto& [name, def] : c.outputs.parameters) {
    ctx.output_parameter_files[name] = "/pipeline-root/sample/parameters/" + name;
  }
  for (const auto& [name, def] : c.outputs.artifacts) {
    ctx.output_artifacts[name] = artifact("artifacts", name, def);
  }
  ctx.output_file = "/pipeline-root/sample/executor_output.json";
  for (const char* key : {"pipeline_job_name", "pipeline_job_resource_name", "pipeline_job_uuid",
                          "pipeline_task_name", "pipeline_task_uuid"}) {
    ctx.pipeline_info[key] = "sample";
  }
  ctx.pipeline_info["pipeline_root"] = "file:///pipeline-root";
  ctx.pipeline_info["pipeline_job_create_time_utc"] = "2026-01-01T00:00:00Z";
  ctx.pipeline_info["pipeline_job_schedule_time_utc"] = "2026-01-01T00:00:00Z";
  return ctx;
}

// An error of the kind's parser, moved under the executor's path.
Status under(const std::string& path, const Status& error) {
  const std::string& m = error.message();
  if (m.rfind("spec.", 0) == 0 || m.rfind("spec:", 0) == 0) {
    return InvalidArgument(path + ".cadre." + m);
  }
  if (m.rfind("metadata.", 0) == 0) return InvalidArgument(path + ".cadre." + m);
  return InvalidArgument(path + ".cadre: " + m);
}

Status check_workload(const WorkloadExecutor& w, const Component& c, const std::string& path) {
  if (w.kind == "InferenceService") {
    // A deploy step's outputs are what the service reports once it serves.
    for (const auto& [name, def] : c.outputs.parameters) {
      if (name != "url" && name != "name" && name != "revision") {
        return field_error(path + ".cadre", "component " + quote_value(c.name) + " outputs " +
                                                quote_value(name) +
                                                "; an InferenceService step reports url, name "
                                                "and revision");
      }
    }
    if (!c.outputs.artifacts.empty()) {
      return field_error(path + ".cadre", "component " + quote_value(c.name) +
                                              " outputs artifacts; an InferenceService step "
                                              "writes none (its model is an input)");
    }
  }
  const std::string spath = path + ".cadre.spec";
  YAML::Node spec = YAML::Load(w.spec_yaml);
  ASSIGN_OR_RETURN(auto refs, pipelines::scan_spec_placeholders(spec, spath));
  for (const auto& [at, ref] : refs) RETURN_IF_ERROR(check_reference(ref, c, at));
  RETURN_IF_ERROR(check_strings({w.name}, c, path + ".cadre.metadata.name"));

  const pipelines::ExecutorContext ctx = sample_context(c);
  ASSIGN_OR_RETURN(auto substituted, pipelines::substitute_spec_placeholders(spec, ctx, spath));
  std::string name = "sample-step-1";
  if (!w.name.empty()) {
    auto names = pipelines::resolve_args({w.name}, ctx);
    if (!names.ok() || names->size() != 1) {
      return field_error(path + ".cadre.metadata.name", "must be one string");
    }
    name = names->front();
  }
  YAML::Emitter doc;
  doc << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << kApiVersion;
  doc << YAML::Key << "kind" << YAML::Value << w.kind;
  doc << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name"
      << YAML::Value << name << YAML::EndMap;
  doc << YAML::Key << "spec" << YAML::Value << substituted << YAML::EndMap;
  auto manifest = parse_manifest(doc.c_str());
  if (!manifest.ok()) return under(path, manifest.status());
  // The run starts and stops its steps; one that waited for cadre resume would stall it.
  if ((w.kind == "Job" || w.kind == "TrainJob") && manifest->gang().run_policy.suspend) {
    return field_error(spath + (w.kind == "Job" ? ".suspend" : ".runPolicy.suspend"),
                       "a step cannot start suspended");
  }
  return Status::Ok();
}

}  // namespace

Result<Executor> parse_executor(const YAML::Node& node, const std::string& path) {
  ASSIGN_OR_RETURN(YamlReader e, YamlReader::Map(node, path));
  // importer, resolver and customJob executors need services Cadre does not run.
  RETURN_IF_ERROR(e.only({"container", "cadre"}));
  ASSIGN_OR_RETURN(auto c, e.map("container"));
  ASSIGN_OR_RETURN(auto w, e.map("cadre"));
  if (c.has_value() == w.has_value()) {
    return field_error(path, "needs exactly one of container and cadre");
  }
  Executor out;
  if (c) {
    ASSIGN_OR_RETURN(out.container, parse_container(std::move(c)));
  } else {
    ASSIGN_OR_RETURN(out.workload, parse_workload(*w));
  }
  RETURN_IF_ERROR(e.reject_unknown());
  return out;
}

Status parse_platforms(YamlReader& top, std::map<std::string, Executor>& executors) {
  ASSIGN_OR_RETURN(auto platforms, top.map("platforms"));
  if (!platforms) return Status::Ok();
  // Volumes, secrets, node selectors and the rest need Kubernetes; refused by name.
  RETURN_IF_ERROR(platforms->only({"kubernetes"}));
  ASSIGN_OR_RETURN(auto kubernetes, platforms->map("kubernetes"));
  if (kubernetes) {
    RETURN_IF_ERROR(kubernetes->only({"deploymentSpec"}));
    ASSIGN_OR_RETURN(auto deployment, kubernetes->map("deploymentSpec"));
    if (deployment) {
      RETURN_IF_ERROR(deployment->only({"executors"}));
      const YAML::Node node = deployment->node("executors");
      const std::string epath = deployment->child_path("executors");
      if (node && !node.IsNull()) {
        if (!node.IsMap()) return field_error(epath, "must be a map");
        for (const auto& kv : node) {
          const std::string label = kv.first.as<std::string>();
          const std::string path = epath + "." + label;
          auto it = executors.find(label);
          if (it == executors.end()) {
            return field_error(path, "there is no executor " + quote_value(label) +
                                         " in deploymentSpec.executors");
          }
          ASSIGN_OR_RETURN(YamlReader config, YamlReader::Map(kv.second, path));
          RETURN_IF_ERROR(config.only({"activeDeadlineSeconds"}));
          ASSIGN_OR_RETURN(auto deadline, config.integer("activeDeadlineSeconds", 1, kMaxSeconds));
          if (deadline && !it->second.container) {
            return field_error(config.child_path("activeDeadlineSeconds"),
                               "a Cadre workload step sets its deadline in its own spec "
                               "(activeDeadlineSeconds, runPolicy.activeDeadlineSeconds)");
          }
          if (deadline) it->second.container->active_deadline_seconds = *deadline;
          RETURN_IF_ERROR(config.reject_unknown());
        }
      }
      RETURN_IF_ERROR(deployment->reject_unknown());
    }
    RETURN_IF_ERROR(kubernetes->reject_unknown());
  }
  return platforms->reject_unknown();
}

Status check_executor(const Executor& executor, const Component& component,
                      const std::string& path) {
  if (executor.workload) return check_workload(*executor.workload, component, path);
  const ContainerExecutor& e = *executor.container;
  RETURN_IF_ERROR(check_strings(e.command, component, path + ".container.command"));
  return check_strings(e.args, component, path + ".container.args");
}

}  // namespace cadre::spec

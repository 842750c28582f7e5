#include "protocol/spec/pipeline_spec.h"

#include <cmath>
#include <cstdlib>

#include "pipelines/json_text.h"
#include "protocol/spec/pipeline_dag_parser.h"
#include "protocol/spec/pipeline_executor_parser.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

using nlohmann::json;

std::string pipeline_field(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

bool is_usable_pipeline_name(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

namespace {

Result<ParameterType> parameter_type(const std::string& text, const std::string& path) {
  static const std::map<std::string, ParameterType> kTypes = {
      {"STRING", ParameterType::kString},
      {"NUMBER_INTEGER", ParameterType::kInteger},
      {"NUMBER_DOUBLE", ParameterType::kDouble},
      {"BOOLEAN", ParameterType::kBoolean},
      {"LIST", ParameterType::kList},
      {"STRUCT", ParameterType::kStruct}};
  auto it = kTypes.find(text);
  if (it != kTypes.end()) return it->second;
  return field_error(path, quote_value(text) +
                               " is not supported (STRING, NUMBER_INTEGER, NUMBER_DOUBLE, "
                               "BOOLEAN, LIST, STRUCT)");
}

// A YAML value as JSON without a declared type (inside lists and structs).
json untyped(const YAML::Node& node) {
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node) out.push_back(untyped(item));
    return out;
  }
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& kv : node) out[kv.first.as<std::string>()] = untyped(kv.second);
    return out;
  }
  if (node.IsNull()) return nullptr;
  const std::string text = node.Scalar();
  // A quoted scalar is a string, whatever it looks like.
  if (node.Tag() == "!") return text;
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(text.c_str(), &end, 10);
  if (!text.empty() && *end == '\0' && errno != ERANGE) return static_cast<int64_t>(i);
  const double d = std::strtod(text.c_str(), &end);
  if (!text.empty() && *end == '\0' && std::isfinite(d)) return d;
  return text;
}

Result<ComponentInterface> parse_interface(YamlReader& parent, const std::string& key) {
  ComponentInterface out;
  ASSIGN_OR_RETURN(auto reader, parent.map(key));
  if (!reader) return out;
  RETURN_IF_ERROR(reader->only({"parameters", "artifacts"}));
  const YAML::Node params = reader->node("parameters");
  if (params && !params.IsNull()) {
    const std::string ppath = reader->child_path("parameters");
    if (!params.IsMap()) return field_error(ppath, "must be a map");
    for (const auto& kv : params) {
      const std::string name = kv.first.as<std::string>();
      const std::string path = pipeline_field(ppath, name);
      if (!is_usable_pipeline_name(name))
        return field_error(path, "is not a usable parameter name");
      ASSIGN_OR_RETURN(YamlReader p, YamlReader::Map(kv.second, path));
      RETURN_IF_ERROR(p.only({"parameterType", "defaultValue", "isOptional", "description"}));
      ParameterDefinition def;
      ASSIGN_OR_RETURN(auto type, p.string("parameterType"));
      if (!type) return field_error(p.child_path("parameterType"), "required");
      ASSIGN_OR_RETURN(def.type, parameter_type(*type, p.child_path("parameterType")));
      const YAML::Node dflt = p.node("defaultValue");
      if (dflt) {
        ASSIGN_OR_RETURN(auto v, parameter_value(dflt, def.type, p.child_path("defaultValue")));
        def.default_value = std::move(v);
      }
      ASSIGN_OR_RETURN(auto optional, p.boolean("isOptional"));
      def.optional = optional.value_or(false);
      ASSIGN_OR_RETURN(auto description, p.string("description"));
      (void)description;
      out.parameters[name] = std::move(def);
    }
  }
  const YAML::Node artifacts = reader->node("artifacts");
  if (artifacts && !artifacts.IsNull()) {
    const std::string apath = reader->child_path("artifacts");
    if (!artifacts.IsMap()) return field_error(apath, "must be a map");
    for (const auto& kv : artifacts) {
      const std::string name = kv.first.as<std::string>();
      const std::string path = pipeline_field(apath, name);
      if (!is_usable_pipeline_name(name)) return field_error(path, "is not a usable artifact name");
      ASSIGN_OR_RETURN(YamlReader a, YamlReader::Map(kv.second, path));
      RETURN_IF_ERROR(a.only({"artifactType", "isArtifactList", "isOptional", "description"}));
      ArtifactDefinition def;
      ASSIGN_OR_RETURN(auto type, a.map("artifactType"));
      if (!type) return field_error(a.child_path("artifactType"), "required");
      RETURN_IF_ERROR(type->only({"schemaTitle", "schemaVersion"}));
      ASSIGN_OR_RETURN(auto title, type->string("schemaTitle"));
      if (!title) return field_error(type->child_path("schemaTitle"), "required");
      def.schema_title = *title;
      ASSIGN_OR_RETURN(auto version, type->string("schemaVersion"));
      (void)version;
      ASSIGN_OR_RETURN(auto is_list, a.boolean("isArtifactList"));
      def.is_list = is_list.value_or(false);
      if (def.is_list) {
        return field_error(a.child_path("isArtifactList"),
                           "lists of artifacts are not supported yet");
      }
      ASSIGN_OR_RETURN(auto optional, a.boolean("isOptional"));
      ASSIGN_OR_RETURN(auto description, a.string("description"));
      (void)optional;
      (void)description;
      out.artifacts[name] = std::move(def);
    }
  }
  RETURN_IF_ERROR(reader->reject_unknown());
  return out;
}

Result<RawComponent> parse_component(const YAML::Node& node, const std::string& path,
                                     bool is_root) {
  ASSIGN_OR_RETURN(YamlReader c, YamlReader::Map(node, path));
  if (is_root) {
    RETURN_IF_ERROR(c.only({"dag", "inputDefinitions", "outputDefinitions"}));
  } else {
    RETURN_IF_ERROR(c.only({"executorLabel", "dag", "inputDefinitions", "outputDefinitions"}));
  }
  RawComponent out;
  out.path = path;
  ASSIGN_OR_RETURN(out.component.inputs, parse_interface(c, "inputDefinitions"));
  ASSIGN_OR_RETURN(out.component.outputs, parse_interface(c, "outputDefinitions"));
  ASSIGN_OR_RETURN(auto label, c.string("executorLabel"));
  out.component.executor = label.value_or("");
  out.dag = c.node("dag");
  out.has_dag = out.dag.IsDefined() && !out.dag.IsNull();
  if (is_root && !out.has_dag) return field_error(pipeline_field(path, "dag"), "required");
  if (!is_root && out.has_dag == !out.component.executor.empty()) {
    return field_error(path, "needs exactly one of executorLabel and dag");
  }
  RETURN_IF_ERROR(c.reject_unknown());
  return out;
}

}  // namespace

const char* parameter_type_name(ParameterType type) {
  switch (type) {
    case ParameterType::kString:
      return "STRING";
    case ParameterType::kInteger:
      return "NUMBER_INTEGER";
    case ParameterType::kDouble:
      return "NUMBER_DOUBLE";
    case ParameterType::kBoolean:
      return "BOOLEAN";
    case ParameterType::kList:
      return "LIST";
    case ParameterType::kStruct:
      return "STRUCT";
  }
  return "STRING";
}

bool parameter_has_type(const json& v, ParameterType type) {
  switch (type) {
    case ParameterType::kString:
      return v.is_string();
    case ParameterType::kInteger:
      return v.is_number_integer();
    case ParameterType::kDouble:
      return v.is_number();
    case ParameterType::kBoolean:
      return v.is_boolean();
    case ParameterType::kList:
      return v.is_array();
    case ParameterType::kStruct:
      return v.is_object();
  }
  return false;
}

Result<json> parameter_value(const YAML::Node& node, ParameterType type, const std::string& path) {
  const std::string want = parameter_type_name(type);
  switch (type) {
    case ParameterType::kList:
      if (!node.IsSequence()) return field_error(path, "must be a list (" + want + ")");
      return untyped(node);
    case ParameterType::kStruct:
      if (!node.IsMap()) return field_error(path, "must be a map (" + want + ")");
      return untyped(node);
    default:
      break;
  }
  if (!node.IsScalar()) return field_error(path, "must be a single value (" + want + ")");
  auto parsed = parse_parameter_text(node.Scalar(), type, path);
  if (!parsed.ok()) return field_error(path, parsed.status().message());
  return parsed;
}

Result<json> parse_parameter_text(const std::string& text, ParameterType type,
                                  const std::string& name) {
  const std::string want = parameter_type_name(type);
  auto bad = [&]() {
    return InvalidArgument(quote_value(text) + " is not a " + want + " value (parameter " +
                           quote_value(name) + ")");
  };
  switch (type) {
    case ParameterType::kString:
      return json(text);
    case ParameterType::kInteger: {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE) {
        // KFP writes integral doubles for integers sometimes ("1.0").
        const double d = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || d != std::floor(d) || std::fabs(d) > 9e15) {
          return bad();
        }
        return json(static_cast<int64_t>(d));
      }
      return json(static_cast<int64_t>(v));
    }
    case ParameterType::kDouble: {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !std::isfinite(v)) return bad();
      return json(v);
    }
    case ParameterType::kBoolean:
      if (text == "true" || text == "True") return json(true);
      if (text == "false" || text == "False") return json(false);
      return bad();
    case ParameterType::kList:
    case ParameterType::kStruct: {
      json v = json::parse(text, nullptr, false);
      if (v.is_discarded() || !parameter_has_type(v, type)) return bad();
      return v;
    }
  }
  return bad();
}

Result<PipelineRunSpec> parse_pipeline_run_spec(YamlReader& top) {
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"pipelineRef", "parameters", "experiment", "enableCaching"}));
  ASSIGN_OR_RETURN(PipelineRunSpec out, parse_run_fields(*spec));
  RETURN_IF_ERROR(spec->reject_unknown());
  return out;
}

Result<PipelineRunSpec> parse_run_fields(YamlReader& spec) {
  PipelineRunSpec out;
  ASSIGN_OR_RETURN(auto ref, spec.map("pipelineRef"));
  if (!ref) return field_error("spec.pipelineRef", "required");
  RETURN_IF_ERROR(ref->only({"name", "version"}));
  ASSIGN_OR_RETURN(auto name, ref->string("name"));
  if (!name) return field_error("spec.pipelineRef.name", "required");
  if (!is_dns_label(*name)) {
    return field_error("spec.pipelineRef.name", quote_value(*name) + " is not a pipeline name");
  }
  out.pipeline = *name;
  ASSIGN_OR_RETURN(auto version, ref->integer("version", 1, 1000000));
  if (version) out.version = static_cast<int32_t>(*version);
  const YAML::Node params = spec.node("parameters");
  if (params && !params.IsNull()) {
    if (!params.IsMap()) return field_error("spec.parameters", "must be a map");
    for (const auto& kv : params) {
      const std::string key = kv.first.as<std::string>();
      if (kv.second.IsScalar()) {
        out.parameters[key] = kv.second.Scalar();
      } else if (kv.second.IsNull()) {
        return field_error("spec.parameters." + key, "has no value");
      } else {
        out.parameters[key] = pipelines::json_text(untyped(kv.second));
      }
    }
  }
  ASSIGN_OR_RETURN(auto experiment, spec.string("experiment"));
  if (experiment) {
    if (experiment->empty() || experiment->size() > 128) {
      return field_error("spec.experiment", "must be 1 to 128 characters");
    }
    out.experiment = *experiment;
  }
  ASSIGN_OR_RETURN(auto caching, spec.boolean("enableCaching"));
  out.enable_caching = caching.value_or(true);
  return out;
}

bool is_kfp_pipeline_spec(const YAML::Node& node) {
  return node.IsMap() && !node["apiVersion"] && node["pipelineInfo"] && node["root"];
}

namespace {

// pipelineInfo, schemaVersion, sdkVersion.
Status parse_pipeline_info(YamlReader& top, PipelineSpec& spec) {
  ASSIGN_OR_RETURN(auto info, top.map("pipelineInfo"));
  if (!info) return field_error(top.child_path("pipelineInfo"), "required");
  RETURN_IF_ERROR(info->only({"name", "description", "displayName"}));
  ASSIGN_OR_RETURN(auto name, info->string("name"));
  if (!name || name->empty()) return field_error(info->child_path("name"), "required");
  spec.name = *name;
  ASSIGN_OR_RETURN(auto description, info->string("description"));
  spec.description = description.value_or("");
  ASSIGN_OR_RETURN(auto display, info->string("displayName"));
  (void)display;
  RETURN_IF_ERROR(info->reject_unknown());

  ASSIGN_OR_RETURN(auto schema, top.string("schemaVersion"));
  if (!schema) return field_error(top.child_path("schemaVersion"), "required (2.1.0)");
  if (*schema != "2.1.0" && *schema != "2.0.0") {
    return field_error(top.child_path("schemaVersion"),
                       quote_value(*schema) + " is not supported (2.0.0, 2.1.0)");
  }
  spec.schema_version = *schema;
  ASSIGN_OR_RETURN(auto sdk, top.string("sdkVersion"));
  spec.sdk_version = sdk.value_or("");
  return Status::Ok();
}

// deploymentSpec.executors, then the platforms' additions to them.
Status parse_executors(YamlReader& top, PipelineSpec& spec) {
  ASSIGN_OR_RETURN(auto deployment, top.map("deploymentSpec"));
  if (deployment) {
    RETURN_IF_ERROR(deployment->only({"executors"}));
    const YAML::Node executors = deployment->node("executors");
    const std::string epath = deployment->child_path("executors");
    if (executors && !executors.IsNull()) {
      if (!executors.IsMap()) return field_error(epath, "must be a map");
      for (const auto& kv : executors) {
        const std::string label = kv.first.as<std::string>();
        ASSIGN_OR_RETURN(spec.executors[label],
                         parse_executor(kv.second, pipeline_field(epath, label)));
      }
    }
  }
  return parse_platforms(top, spec.executors);
}

// components, each checked against the executor it names.
Result<std::map<std::string, RawComponent>> parse_components(YamlReader& top,
                                                             const std::string& path,
                                                             const PipelineSpec& spec) {
  std::map<std::string, RawComponent> raw;
  const YAML::Node components = top.node("components");
  const std::string cpath = top.child_path("components");
  if (!components || components.IsNull()) return raw;
  if (!components.IsMap()) return field_error(cpath, "must be a map");
  for (const auto& kv : components) {
    const std::string cname = kv.first.as<std::string>();
    if (!is_usable_pipeline_name(cname))
      return field_error(pipeline_field(cpath, cname), "is not a usable name");
    ASSIGN_OR_RETURN(auto component,
                     parse_component(kv.second, pipeline_field(cpath, cname), false));
    component.component.name = cname;
    const std::string& label = component.component.executor;
    if (!label.empty() && !spec.executors.count(label)) {
      return field_error(
          pipeline_field(cpath, cname + ".executorLabel"),
          "there is no executor " + quote_value(label) + " in deploymentSpec.executors");
    }
    if (!label.empty()) {
      RETURN_IF_ERROR(check_executor(spec.executors.at(label), component.component,
                                     pipeline_field(path, "deploymentSpec.executors." + label)));
    }
    raw[cname] = std::move(component);
  }
  return raw;
}

}  // namespace

Result<PipelineSpec> parse_pipeline_spec(const YAML::Node& node, const std::string& path) {
  ASSIGN_OR_RETURN(YamlReader top, YamlReader::Map(node, path));
  RETURN_IF_ERROR(top.only({"components", "deploymentSpec", "pipelineInfo", "root", "schemaVersion",
                            "sdkVersion", "defaultPipelineRoot", "platforms"}));
  PipelineSpec spec;
  RETURN_IF_ERROR(parse_pipeline_info(top, spec));
  // Cadre's artifact store is the cluster's shared checkpoint root, not a bucket.
  ASSIGN_OR_RETURN(auto root_uri, top.string("defaultPipelineRoot"));
  (void)root_uri;
  RETURN_IF_ERROR(parse_executors(top, spec));
  ASSIGN_OR_RETURN(auto raw, parse_components(top, path, spec));
  const YAML::Node root_node = top.node("root");
  ASSIGN_OR_RETURN(auto root, parse_component(root_node, top.child_path("root"), true));
  ASSIGN_OR_RETURN(root.component.dag,
                   parse_dags(raw, spec.executors, root, top.child_path("root.dag")));
  spec.root = std::move(root.component);
  for (auto& [cname, component] : raw) spec.components[cname] = std::move(component.component);
  RETURN_IF_ERROR(top.reject_unknown());
  return spec;
}

}  // namespace cadre::spec

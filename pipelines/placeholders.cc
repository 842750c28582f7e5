#include "pipelines/placeholders.h"
#include "pipelines/json_text.h"

#include <set>

namespace cadre::pipelines {

using nlohmann::json;

namespace {

constexpr size_t kMaxArgBytes = 1 << 20;
constexpr int kMaxStructureDepth = 8;

const std::set<std::string>& pipeline_fields() {
  static const std::set<std::string> kFields = {"pipeline_job_name",
                                                "pipeline_job_resource_name",
                                                "pipeline_job_uuid",
                                                "pipeline_task_name",
                                                "pipeline_task_uuid",
                                                "pipeline_root",
                                                "pipeline_job_create_time_utc",
                                                "pipeline_job_schedule_time_utc"};
  return kFields;
}

// Parses the inside of one {{...}} (without the braces).
Result<PlaceholderRef> parse_ref(const std::string& body) {
  using Kind = PlaceholderRef::Kind;
  PlaceholderRef ref;
  if (body == "$") return ref;
  if (body == "$.outputs.output_file") {
    ref.kind = Kind::kOutputFile;
    return ref;
  }
  if (body.compare(0, 2, "$.") == 0 && pipeline_fields().count(body.substr(2))) {
    ref.kind = Kind::kPipelineInfo;
    ref.field = body.substr(2);
    return ref;
  }
  // $.inputs.parameters['x'], $.outputs.artifacts['x'].path, ...
  struct Form {
    const char* prefix;
    Kind kind;
    std::set<std::string> fields;  // allowed suffixes; "" for none
  };
  static const Form kForms[] = {
      {"$.inputs.parameters[", Kind::kInputParameter, {""}},
      {"$.inputs.artifacts[", Kind::kInputArtifact, {"path", "uri", "metadata"}},
      {"$.outputs.parameters[", Kind::kOutputParameter, {"output_file"}},
      {"$.outputs.artifacts[", Kind::kOutputArtifact, {"path", "uri", "metadata"}},
  };
  for (const auto& form : kForms) {
    const std::string prefix = form.prefix;
    if (body.compare(0, prefix.size(), prefix) != 0) continue;
    size_t i = prefix.size();
    if (i >= body.size() || (body[i] != '\'' && body[i] != '"')) break;
    const char quote = body[i];
    const size_t end = body.find(quote, i + 1);
    if (end == std::string::npos || end + 1 >= body.size() || body[end + 1] != ']') break;
    ref.kind = form.kind;
    ref.name = body.substr(i + 1, end - i - 1);
    const std::string rest = body.substr(end + 2);
    if (rest.empty()) {
      ref.field = "";
    } else if (rest[0] == '.') {
      ref.field = rest.substr(1);
    } else {
      break;
    }
    if (!form.fields.count(ref.field)) {
      return InvalidArgument("placeholder '{{" + shortened(body, 80) + "}}' has no field " +
                             (ref.field.empty() ? std::string("(one of path, uri, metadata)")
                                                : "'" + ref.field + "'"));
    }
    if (ref.name.empty())
      return InvalidArgument("placeholder '{{" + shortened(body, 80) + "}}' names nothing");
    return ref;
  }
  return InvalidArgument("'{{" + shortened(body, 80) + "}}' is not a KFP placeholder");
}

// Calls `visit(ref, begin, end)` for each {{$...}} in `s`.
template <typename Visit>
Status for_each_ref(const std::string& s, Visit visit) {
  size_t pos = 0;
  while ((pos = s.find("{{$", pos)) != std::string::npos) {
    const size_t end = s.find("}}", pos);
    if (end == std::string::npos) {
      return InvalidArgument("unterminated placeholder in " + shortened(s, 80));
    }
    ASSIGN_OR_RETURN(auto ref, parse_ref(s.substr(pos + 2, end - pos - 2)));
    RETURN_IF_ERROR(visit(ref, pos, end + 2));
    pos = end + 2;
  }
  return Status::Ok();
}

// A structured argument ({"Concat": ...} or {"IfPresent": ...}), if `arg` is one.
std::optional<json> structure_of(const std::string& arg) {
  if (arg.size() < 2 || arg.front() != '{' || arg.back() != '}') return std::nullopt;
  json v = json::parse(arg, nullptr, false);
  if (v.is_discarded() || !v.is_object() || v.size() != 1) return std::nullopt;
  if (!v.contains("Concat") && !v.contains("IfPresent")) return std::nullopt;
  return v;
}

Status scan_structure(const json& v, std::vector<PlaceholderRef>& out, int depth);

Status scan_string(const std::string& s, std::vector<PlaceholderRef>& out) {
  return for_each_ref(s, [&](const PlaceholderRef& ref, size_t, size_t) {
    out.push_back(ref);
    return Status::Ok();
  });
}

Status scan_item(const json& v, std::vector<PlaceholderRef>& out, int depth) {
  if (v.is_string()) return scan_string(v.get<std::string>(), out);
  if (v.is_object()) return scan_structure(v, out, depth + 1);
  if (v.is_array()) {
    for (const auto& item : v) RETURN_IF_ERROR(scan_item(item, out, depth + 1));
    return Status::Ok();
  }
  return InvalidArgument("a structured argument holds " + json_text(v) + ", not a string");
}

Status scan_structure(const json& v, std::vector<PlaceholderRef>& out, int depth) {
  if (depth > kMaxStructureDepth) return InvalidArgument("structured arguments nest too deeply");
  if (!v.is_object() || v.size() != 1) {
    return InvalidArgument(
        "a structured argument must be {\"Concat\": ...} or {\"IfPresent\": ...}");
  }
  if (v.contains("Concat")) {
    if (!v["Concat"].is_array()) return InvalidArgument("Concat takes a list");
    return scan_item(v["Concat"], out, depth);
  }
  if (v.contains("IfPresent")) {
    const json& p = v["IfPresent"];
    if (!p.is_object() || !p.contains("InputName") || !p["InputName"].is_string()) {
      return InvalidArgument("IfPresent needs an InputName");
    }
    for (const auto& [key, _] : p.items()) {
      if (key != "InputName" && key != "Then" && key != "Else") {
        return InvalidArgument("IfPresent has no field '" + key + "'");
      }
    }
    PlaceholderRef ref;
    ref.kind = PlaceholderRef::Kind::kIfPresent;
    ref.name = p["InputName"].get<std::string>();
    out.push_back(ref);
    if (p.contains("Then")) RETURN_IF_ERROR(scan_item(p["Then"], out, depth));
    if (p.contains("Else")) RETURN_IF_ERROR(scan_item(p["Else"], out, depth));
    return Status::Ok();
  }
  return InvalidArgument("a structured argument must be {\"Concat\": ...} or {\"IfPresent\": ...}");
}

json artifact_json(const std::string& name, const ArtifactValue& a) {
  return json{{"artifacts", json::array({json{{"name", name},
                                              {"uri", a.uri},
                                              {"type", json{{"schemaTitle", a.schema_title}}},
                                              {"metadata", a.metadata}}})}};
}

class Resolver {
 public:
  explicit Resolver(const ExecutorContext& c) : c_(c) {}

  Result<std::string> substitute(const std::string& s) {
    std::string out;
    size_t last = 0;
    RETURN_IF_ERROR(for_each_ref(s, [&](const PlaceholderRef& ref, size_t begin, size_t end) {
      out.append(s, last, begin - last);
      ASSIGN_OR_RETURN(std::string value, value_of(ref));
      out += value;
      last = end;
      return Status::Ok();
    }));
    out.append(s, last, std::string::npos);
    if (out.size() > kMaxArgBytes) {
      return InvalidArgument("an argument grew past " + std::to_string(kMaxArgBytes) + " bytes");
    }
    return out;
  }

  // Appends what one item of a structure becomes.
  Status expand(const json& v, std::vector<std::string>& out, int depth) {
    if (depth > kMaxStructureDepth) return InvalidArgument("structured arguments nest too deeply");
    if (v.is_string()) {
      ASSIGN_OR_RETURN(auto s, substitute(v.get<std::string>()));
      out.push_back(std::move(s));
      return Status::Ok();
    }
    if (v.is_array()) {
      for (const auto& item : v) RETURN_IF_ERROR(expand(item, out, depth + 1));
      return Status::Ok();
    }
    if (v.is_object() && v.contains("Concat")) {
      std::vector<std::string> parts;
      RETURN_IF_ERROR(expand(v["Concat"], parts, depth + 1));
      std::string joined;
      for (const auto& p : parts) joined += p;
      out.push_back(std::move(joined));
      return Status::Ok();
    }
    if (v.is_object() && v.contains("IfPresent")) {
      const json& p = v["IfPresent"];
      const std::string name = p.value("InputName", "");
      const bool present = c_.parameters.contains(name) || c_.input_artifacts.count(name);
      const char* branch = present ? "Then" : "Else";
      if (p.contains(branch)) RETURN_IF_ERROR(expand(p[branch], out, depth + 1));
      return Status::Ok();
    }
    return InvalidArgument("unexpected structured argument " + shortened(json_text(v), 80));
  }

 private:
  Result<std::string> value_of(const PlaceholderRef& ref) {
    using Kind = PlaceholderRef::Kind;
    switch (ref.kind) {
      case Kind::kExecutorInput:
        return json_text(c_.executor_input());
      case Kind::kInputParameter: {
        auto it = c_.parameters.find(ref.name);
        if (it == c_.parameters.end()) {
          return InvalidArgument("input parameter '" + ref.name + "' has no value");
        }
        return parameter_text(*it);
      }
      case Kind::kInputArtifact:
      case Kind::kOutputArtifact: {
        const auto& artifacts =
            ref.kind == Kind::kInputArtifact ? c_.input_artifacts : c_.output_artifacts;
        auto it = artifacts.find(ref.name);
        if (it == artifacts.end()) {
          return InvalidArgument(
              std::string(ref.kind == Kind::kInputArtifact ? "input" : "output") + " artifact '" +
              ref.name + "' has no value");
        }
        if (ref.field == "uri") return it->second.uri;
        if (ref.field == "path") return it->second.path;
        return json_text(it->second.metadata);
      }
      case Kind::kOutputParameter: {
        auto it = c_.output_parameter_files.find(ref.name);
        if (it == c_.output_parameter_files.end()) {
          return InvalidArgument("there is no output parameter '" + ref.name + "'");
        }
        return it->second;
      }
      case Kind::kOutputFile:
        return c_.output_file;
      case Kind::kPipelineInfo: {
        auto it = c_.pipeline_info.find(ref.field);
        return it == c_.pipeline_info.end() ? std::string() : it->second;
      }
      case Kind::kIfPresent:
        break;
    }
    return InvalidArgument("unexpected placeholder");
  }

  const ExecutorContext& c_;
};

}  // namespace

Result<std::vector<PlaceholderRef>> scan_placeholders(const std::string& arg) {
  if (arg.size() > kMaxArgBytes) return InvalidArgument("argument is too long");
  std::vector<PlaceholderRef> out;
  if (auto structure = structure_of(arg)) {
    RETURN_IF_ERROR(scan_structure(*structure, out, 0));
  } else {
    RETURN_IF_ERROR(scan_string(arg, out));
  }
  return out;
}

std::string parameter_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return json_text(value);
}

json ExecutorContext::executor_input() const {
  json inputs = json::object();
  inputs["parameterValues"] = parameters;
  json in_artifacts = json::object();
  for (const auto& [name, a] : input_artifacts) in_artifacts[name] = artifact_json(name, a);
  inputs["artifacts"] = in_artifacts;
  json outputs = json::object();
  json params = json::object();
  for (const auto& [name, file] : output_parameter_files) params[name] = {{"outputFile", file}};
  outputs["parameters"] = params;
  json out_artifacts = json::object();
  for (const auto& [name, a] : output_artifacts) out_artifacts[name] = artifact_json(name, a);
  outputs["artifacts"] = out_artifacts;
  outputs["outputFile"] = output_file;
  return json{{"inputs", inputs}, {"outputs", outputs}};
}

Result<std::vector<std::string>> resolve_args(const std::vector<std::string>& args,
                                              const ExecutorContext& context) {
  Resolver resolver(context);
  std::vector<std::string> out;
  for (const auto& arg : args) {
    if (auto structure = structure_of(arg)) {
      RETURN_IF_ERROR(resolver.expand(*structure, out, 0));
    } else {
      ASSIGN_OR_RETURN(auto s, resolver.substitute(arg));
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace cadre::pipelines

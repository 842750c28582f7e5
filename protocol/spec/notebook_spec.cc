#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "protocol/spec/notebook_spec.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

namespace {

// A year: a limit past it is "never", which leaving the field out already says.
constexpr int64_t kMaxCullingMinutes = 365 * 24 * 60;

Result<std::string> parse_workspace(YamlReader& spec) {
  ASSIGN_OR_RETURN(auto workspace, spec.map("workspace"));
  if (!workspace) return std::string();
  RETURN_IF_ERROR(workspace->only({"path", "size"}));
  if (workspace->has("size")) {
    // A size would be a promise of a quota; nothing on the node enforces one.
    return field_error(workspace->child_path("size"),
                       "not supported: Cadre does not enforce folder quotas; give "
                       "workspace.path, or leave workspace out for the notebook's own folder");
  }
  ASSIGN_OR_RETURN(auto path, workspace->string("path"));
  RETURN_IF_ERROR(workspace->reject_unknown());
  if (!path) return std::string();
  const std::filesystem::path p(*path);
  if (!p.is_absolute() || p.lexically_normal() != p || path->find("/../") != std::string::npos) {
    return field_error(workspace->child_path("path"),
                       quote_value(*path) + " is not an absolute, normalised path");
  }
  if (*path == "/") return field_error(workspace->child_path("path"), "'/' is not a workspace");
  return *path;
}

}  // namespace

Result<NotebookSpec> parse_notebook_spec(YamlReader& top, ObjectMeta metadata) {
  if (metadata.name.size() > kMaxNotebookName) {
    return field_error("metadata.name", "a notebook's name is at most " +
                                            std::to_string(kMaxNotebookName) +
                                            " characters (each start is a job <name>-<k>)");
  }
  NotebookSpec out;
  out.metadata = std::move(metadata);
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"template", "workspace", "idleCullingMinutes", "stopped"}));
  ASSIGN_OR_RETURN(auto tmpl, spec->map("template"));
  if (tmpl) {
    ASSIGN_OR_RETURN(out.replica, parse_replica_template(*tmpl, false));
  }
  out.default_command = out.replica.command.empty();
  if (out.default_command) out.replica.command = {kDefaultNotebookCommand};
  ASSIGN_OR_RETURN(out.workspace_path, parse_workspace(*spec));
  ASSIGN_OR_RETURN(out.idle_culling_minutes,
                   spec->integer("idleCullingMinutes", 1, kMaxCullingMinutes));
  ASSIGN_OR_RETURN(auto stopped, spec->boolean("stopped"));
  out.stopped = stopped.value_or(false);
  RETURN_IF_ERROR(spec->reject_unknown());
  return out;
}

Result<std::string> notebook_manifest_with_stopped(const std::string& manifest, bool stopped) {
  try {
    YAML::Node root = YAML::Load(manifest);
    if (!root.IsMap() || root["kind"].as<std::string>("") != "Notebook" || !root["spec"] ||
        !root["spec"].IsMap()) {
      return InvalidArgument("the stored manifest is not a Notebook's");
    }
    root["spec"]["stopped"] = stopped;
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("the stored manifest does not parse: ") + e.what());
  }
}

}  // namespace cadre::spec

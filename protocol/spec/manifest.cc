#include "protocol/spec/manifest.h"

#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

TrainJobSpec Manifest::gang() const { return train_job ? *train_job : to_train_job(*job); }

Result<Manifest> parse_manifest(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("manifest is not valid YAML: " + e.msg + " (line " +
                           std::to_string(e.mark.line + 1) + ")");
  }
  if (!root.IsDefined() || root.IsNull()) return InvalidArgument("manifest is empty");
  ASSIGN_OR_RETURN(YamlReader top, YamlReader::Map(root, ""));
  RETURN_IF_ERROR(top.only({"apiVersion", "kind", "metadata", "spec"}));
  ASSIGN_OR_RETURN(auto api, top.string("apiVersion"));
  if (!api) return field_error("apiVersion", "required (" + std::string(kApiVersion) + ")");
  if (*api != kApiVersion) {
    return field_error("apiVersion", "'" + *api + "' is not supported (use " + kApiVersion + ")");
  }
  ASSIGN_OR_RETURN(auto kind, top.string("kind"));
  if (!kind) return field_error("kind", "required");
  Manifest manifest;
  manifest.kind = *kind;
  ASSIGN_OR_RETURN(manifest.metadata, parse_metadata(top));
  if (*kind == "Job") {
    ASSIGN_OR_RETURN(manifest.job, parse_job(top, manifest.metadata));
  } else if (*kind == "TrainJob") {
    ASSIGN_OR_RETURN(manifest.train_job, parse_train_job(top, manifest.metadata));
  } else {
    return field_error("kind", "'" + *kind + "' is not supported (supported: Job, TrainJob)");
  }
  RETURN_IF_ERROR(top.reject_unknown());
  return manifest;
}

}  // namespace cadre::spec

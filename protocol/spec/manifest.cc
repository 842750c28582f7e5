#include "protocol/spec/manifest.h"

#include "protocol/spec/experiment_spec.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

TrainJobSpec Manifest::gang() const { return train_job ? *train_job : to_train_job(*job); }

Result<YAML::Node> load_document(const std::string& yaml_text, const ManifestLimits& limits) {
  if (yaml_text.size() > limits.max_bytes) {
    return InvalidArgument("manifest is " + std::to_string(yaml_text.size()) +
                           " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("manifest is not valid YAML: " + e.msg + " (line " +
                           std::to_string(e.mark.line + 1) + ")");
  }
  if (documents.size() > 1) {
    return InvalidArgument("manifest has " + std::to_string(documents.size()) +
                           " YAML documents; send one per request (cadre apply -f splits a file)");
  }
  if (documents.empty() || documents[0].IsNull()) return InvalidArgument("manifest is empty");
  RETURN_IF_ERROR(check_document(documents[0], limits));
  return documents[0];
}

Result<std::string> read_header(YamlReader& top) {
  RETURN_IF_ERROR(top.only({"apiVersion", "kind", "metadata", "spec"}));
  ASSIGN_OR_RETURN(auto api, top.string("apiVersion"));
  if (!api) return field_error("apiVersion", "required (" + std::string(kApiVersion) + ")");
  if (*api != kApiVersion) {
    return field_error("apiVersion",
                       quote_value(*api) + " is not supported (use " + kApiVersion + ")");
  }
  ASSIGN_OR_RETURN(auto kind, top.string("kind"));
  if (!kind) return field_error("kind", "required");
  return *kind;
}

Result<Manifest> parse_manifest(const std::string& yaml_text, const ManifestLimits& limits) {
  ASSIGN_OR_RETURN(const YAML::Node root, load_document(yaml_text, limits));
  ASSIGN_OR_RETURN(YamlReader top, YamlReader::Map(root, ""));
  ASSIGN_OR_RETURN(const std::string kind_name, read_header(top));
  const std::optional<std::string> kind = kind_name;
  Manifest manifest;
  manifest.kind = *kind;
  ASSIGN_OR_RETURN(manifest.metadata, parse_metadata(top));
  if (*kind == "Job") {
    ASSIGN_OR_RETURN(manifest.job, parse_job(top, manifest.metadata));
  } else if (*kind == "TrainJob") {
    ASSIGN_OR_RETURN(manifest.train_job, parse_train_job(top, manifest.metadata));
  } else if (*kind == "Experiment") {
    ASSIGN_OR_RETURN(auto experiment, parse_experiment_spec(top, manifest.metadata));
    manifest.experiment = std::make_shared<const ExperimentSpec>(std::move(experiment));
  } else if (*kind == "InferenceService") {
    ASSIGN_OR_RETURN(auto service, parse_inference_service_spec(top, manifest.metadata));
    manifest.inference_service = std::make_shared<const InferenceServiceSpec>(std::move(service));
  } else {
    return field_error("kind", quote_value(*kind) +
                                   " is not supported (supported: Job, TrainJob, Experiment, "
                                   "InferenceService)");
  }
  RETURN_IF_ERROR(top.reject_unknown());
  return manifest;
}

}  // namespace cadre::spec

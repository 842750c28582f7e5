#include "protocol/spec/manifest.h"

#include "protocol/spec/experiment_spec.h"
#include "protocol/spec/pipeline_spec.h"
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
  // The KFP compiler writes a pipeline's Kubernetes settings (kfp-kubernetes) as a
  // second document, `platforms:`; it belongs to the spec before it.
  if (documents.size() == 2 && documents[0].IsMap() && is_kfp_pipeline_spec(documents[0]) &&
      documents[1].IsMap() && documents[1].size() == 1 && documents[1]["platforms"] &&
      !documents[0]["platforms"]) {
    RETURN_IF_ERROR(check_document(documents[1], limits));
    documents[0]["platforms"] = documents[1]["platforms"];
    documents.pop_back();
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

namespace {

// The KFP compiler's own output: no apiVersion, named by pipelineInfo.name.
Result<Manifest> parse_bare_pipeline(const YAML::Node& root) {
  ASSIGN_OR_RETURN(auto pipeline, parse_pipeline_spec(root, ""));
  if (!is_dns_label(pipeline.name)) {
    return field_error("pipelineInfo.name",
                       quote_value(pipeline.name) +
                           " is not a DNS label; wrap the spec in a cadre/v1 Pipeline with "
                           "metadata.name (docs/pipelines.md)");
  }
  Manifest manifest;
  manifest.kind = "Pipeline";
  manifest.metadata.name = pipeline.name;
  manifest.pipeline = std::make_shared<const PipelineSpec>(std::move(pipeline));
  return manifest;
}

// kind: Pipeline, spec.pipelineSpec holding the compiler's output.
Result<std::shared_ptr<const PipelineSpec>> parse_wrapped_pipeline(YamlReader& top) {
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"pipelineSpec"}));
  const YAML::Node inner = spec->node("pipelineSpec");
  if (!inner) return field_error("spec.pipelineSpec", "required (the KFP compiler's output)");
  ASSIGN_OR_RETURN(auto pipeline, parse_pipeline_spec(inner, "spec.pipelineSpec"));
  RETURN_IF_ERROR(spec->reject_unknown());
  return std::make_shared<const PipelineSpec>(std::move(pipeline));
}

}  // namespace

Result<Manifest> parse_manifest(const std::string& yaml_text, const ManifestLimits& limits) {
  ASSIGN_OR_RETURN(const YAML::Node root, load_document(yaml_text, limits));
  if (is_kfp_pipeline_spec(root)) return parse_bare_pipeline(root);
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
  } else if (*kind == "Pipeline") {
    ASSIGN_OR_RETURN(manifest.pipeline, parse_wrapped_pipeline(top));
  } else if (*kind == "PipelineRun") {
    if (manifest.metadata.name.size() > kMaxRunNameLength) {
      return field_error("metadata.name", "a run's name is at most " +
                                              std::to_string(kMaxRunNameLength) + " characters");
    }
    ASSIGN_OR_RETURN(auto run, parse_pipeline_run_spec(top));
    manifest.pipeline_run = std::make_shared<const PipelineRunSpec>(std::move(run));
  } else if (*kind == "RecurringRun") {
    if (manifest.metadata.name.size() > kMaxRecurringRunNameLength) {
      return field_error("metadata.name", "a recurring run's name is at most " +
                                              std::to_string(kMaxRecurringRunNameLength) +
                                              " characters (its runs add a time)");
    }
    ASSIGN_OR_RETURN(auto recurring, parse_recurring_run_spec(top));
    manifest.recurring_run = std::make_shared<const RecurringRunSpec>(std::move(recurring));
  } else {
    return field_error("kind", quote_value(*kind) +
                                   " is not supported (supported: Job, TrainJob, Experiment, "
                                   "InferenceService, Pipeline, PipelineRun, RecurringRun)");
  }
  RETURN_IF_ERROR(top.reject_unknown());
  return manifest;
}

}  // namespace cadre::spec

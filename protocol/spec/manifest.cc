#include "protocol/spec/manifest.h"

#include <algorithm>
#include <string_view>

#include "protocol/spec/experiment_spec.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

TrainJobSpec Manifest::gang() const { return train_job ? *train_job : to_train_job(*job); }

namespace {

// At most this many YAML documents in one manifest: the spec and a KFP platform spec.
constexpr size_t kMaxDocuments = 2;

// The text of each YAML document: a line starting with "---" and then a space or
// its end is a document marker (YAML ends even a block scalar there). yaml-cpp's
// LoadAll is never used on untrusted text: some inputs (a NUL byte after a flow
// indicator) make it return empty documents forever, growing without bound.
Result<std::vector<std::string>> document_texts(const std::string& text) {
  std::vector<std::string> out(1);
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t end = text.find('\n', line_start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + line_start, end - line_start);
    const bool marker = line.substr(0, 3) == "---" &&
                        (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker) {
      if (out.size() == kMaxDocuments + 1) {
        return InvalidArgument("manifest has at least " + std::to_string(kMaxDocuments + 1) +
                               " YAML documents; send one per request (cadre apply -f splits a "
                               "file)");
      }
      // Content after the marker ("--- {a: 1}") belongs to the new document.
      out.emplace_back(line.substr(3));
      out.back() += '\n';
    } else {
      out.back().append(line);
      out.back() += '\n';
    }
    line_start = end + 1;
  }
  return out;
}

}  // namespace

Result<YAML::Node> load_document(const std::string& yaml_text, const ManifestLimits& limits) {
  if (yaml_text.size() > limits.max_bytes) {
    return InvalidArgument("manifest is " + std::to_string(yaml_text.size()) +
                           " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> texts, document_texts(yaml_text));
  std::vector<YAML::Node> documents;
  for (size_t i = 0; i < texts.size(); ++i) {
    YAML::Node node;
    try {
      node = YAML::Load(texts[i]);
    } catch (const YAML::Exception& e) {
      // Lines are counted over the whole manifest.
      size_t line = static_cast<size_t>(e.mark.line) + 1;
      for (size_t j = 0; j < i; ++j) {
        line += static_cast<size_t>(std::count(texts[j].begin(), texts[j].end(), '\n'));
      }
      return InvalidArgument("manifest is not valid YAML: " + e.msg + " (line " +
                             std::to_string(line) + ")");
    }
    // An empty document (a leading "---", or only comments) is no document.
    if (!node.IsNull() || i == 0) documents.push_back(node);
  }
  if (documents.size() > 1 && documents[0].IsNull()) documents.erase(documents.begin());
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
  } else if (*kind == "Notebook") {
    ASSIGN_OR_RETURN(auto notebook, parse_notebook_spec(top, manifest.metadata));
    manifest.notebook = std::make_shared<const NotebookSpec>(std::move(notebook));
  } else {
    return field_error("kind", quote_value(*kind) +
                                   " is not supported (supported: Job, TrainJob, Experiment, "
                                   "InferenceService, Pipeline, PipelineRun, RecurringRun, "
                                   "Notebook)");
  }
  RETURN_IF_ERROR(top.reject_unknown());
  return manifest;
}

namespace {

// Equal as data: maps by key whatever their order, sequences item by item,
// scalars by their text.
bool same_yaml(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  switch (a.Type()) {
    case YAML::NodeType::Scalar:
      return a.Scalar() == b.Scalar();
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!same_yaml(a[i], b[i])) return false;
      }
      return true;
    case YAML::NodeType::Map:
      if (a.size() != b.size()) return false;
      for (const auto& entry : a) {
        if (!entry.first.IsScalar()) return false;
        const YAML::Node other = b[entry.first.Scalar()];  // const: looks, never adds
        if (!other.IsDefined() || !same_yaml(entry.second, other)) return false;
      }
      return true;
    default:
      return true;  // both null or undefined
  }
}

// The manifest without its suspend field (and a runPolicy left empty by that).
std::optional<YAML::Node> without_suspend(const std::string& text) {
  auto root = load_document(text, ManifestLimits::none());
  if (!root.ok() || !root->IsMap()) return std::nullopt;
  YAML::Node copy = YAML::Clone(*root);
  YAML::Node spec = copy["spec"];
  if (!spec.IsMap()) return copy;
  spec.remove("suspend");
  YAML::Node run_policy = spec["runPolicy"];
  if (run_policy.IsMap()) {
    run_policy.remove("suspend");
    if (run_policy.size() == 0) spec.remove("runPolicy");
  }
  return copy;
}

}  // namespace

bool differ_only_in_suspend(const std::string& before, const std::string& after) {
  const auto a = without_suspend(before);
  const auto b = without_suspend(after);
  return a && b && same_yaml(*a, *b);
}

}  // namespace cadre::spec

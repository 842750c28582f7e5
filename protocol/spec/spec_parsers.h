// Parsers shared by the kinds' .cc files (not part of the spec API: include
// manifest.h for parse_manifest). Each reads one map with a YamlReader, refuses
// unknown fields and returns errors that start with the field path.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/spec/experiment_spec.h"
#include "protocol/spec/inference_service_spec.h"
#include "protocol/spec/job_spec.h"
#include "protocol/spec/manifest_limits.h"
#include "protocol/spec/notebook_spec.h"
#include "protocol/spec/train_job_spec.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/status.h"

namespace cadre::spec {

// Upper bound for every duration in seconds (10 years): large enough to mean
// "never", small enough that adding it to a timestamp cannot overflow.
inline constexpr int64_t kMaxSeconds = 10ll * 365 * 24 * 3600;

// "spec.replicaSpecs.Worker.replicas: must be >= 1, got 0".
inline Status field_error(const std::string& path, const std::string& what) {
  return InvalidArgument(path + ": " + what);
}

// One YAML document within `limits` (size, depth, node count, aliases), or why not.
Result<YAML::Node> load_document(const std::string& yaml_text, const ManifestLimits& limits);
// Checks apiVersion and the top-level fields; returns the kind.
Result<std::string> read_header(YamlReader& top);

Result<ObjectMeta> parse_metadata(YamlReader& top);  // top-level "metadata"
// The "nodeSelector" map in `reader`, each key and value checked as a label; empty
// when there is none.
Result<std::map<std::string, std::string>> parse_node_selector(YamlReader& reader);
Result<ReplicaTemplate> parse_replica_template(YamlReader& reader);  // a "template" map
// The same, with `command` optional (a Notebook's defaults to jupyter-notebook).
Result<ReplicaTemplate> parse_replica_template(YamlReader& reader, bool command_required);
Result<ResourceRequest> parse_resources(YamlReader& reader);  // a "resources" map
// The "schedulingPolicy" map under `parent` (a TrainJob's runPolicy, a Job's spec); `total`
// is the gang's replica count, which minAvailable must equal.
Result<SchedulingPolicy> parse_scheduling_policy(YamlReader& parent, int32_t total);
Result<JobSpec> parse_job(YamlReader& top, ObjectMeta metadata);             // kind: Job's "spec"
Result<TrainJobSpec> parse_train_job(YamlReader& top, ObjectMeta metadata);  // kind: TrainJob
Result<ExperimentSpec> parse_experiment_spec(YamlReader& top, ObjectMeta metadata);  // Experiment
Result<InferenceServiceSpec> parse_inference_service_spec(YamlReader& top, ObjectMeta metadata);
Result<NotebookSpec> parse_notebook_spec(YamlReader& top, ObjectMeta metadata);  // kind: Notebook

}  // namespace cadre::spec

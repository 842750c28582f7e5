// The `InferenceService` kind, shaped like KServe's v1beta1 InferenceService: one
// predictor (a model, how many replicas serve it and how they scale, batching,
// resources, a per-request timeout) and `canaryTrafficPercent` for rollouts. Every
// change of the predictor makes a new revision; canaryTrafficPercent only moves
// traffic between revisions. docs/specs.md documents every field; the service
// supervisor (actors/service_state_machine.h) runs it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/spec/job_spec.h"
#include "protocol/spec/manifest_limits.h"
#include "protocol/status.h"

namespace cadre::spec {

// Service names are at most this long: a replica's job is `<name>-<revision>-<k>`.
inline constexpr size_t kMaxServiceName = 40;

enum class ModelFormat { kCadre, kPytorch };
enum class ScaleMetric { kConcurrency, kRps };

struct StorageUri {
  enum class Scheme { kFile, kTrainJob };
  Scheme scheme = Scheme::kFile;
  std::string path;  // kFile: the absolute path; kTrainJob: the TrainJob's (or Job's) name
};

// cadre-serve's dynamic batching (config.pbtxt's dynamic_batching and
// max_batch_size), for a model given as one file. Unset fields keep cadre-serve's
// defaults.
struct BatchingSpec {
  std::optional<int32_t> max_batch_size;
  std::vector<int32_t> preferred_batch_size;
  std::optional<int64_t> max_queue_delay_microseconds;
  std::optional<bool> preserve_ordering;
  std::optional<int64_t> max_queue_size;
  std::optional<int64_t> default_timeout_microseconds;
  bool empty() const {
    return !max_batch_size && preferred_batch_size.empty() && !max_queue_delay_microseconds &&
           !preserve_ordering && !max_queue_size && !default_timeout_microseconds;
  }
};

struct PredictorSpec {
  ModelFormat model_format = ModelFormat::kCadre;
  StorageUri storage;
  std::string storage_uri;   // as written
  int32_t min_replicas = 1;  // 0: scale to zero when idle
  int32_t max_replicas = 1;  // default: max(minReplicas, 1)
  ScaleMetric scale_metric = ScaleMetric::kConcurrency;
  double scale_target = 100;          // per replica; Knative's default concurrency target
  int32_t container_concurrency = 0;  // hard limit of requests in flight per replica; 0: none
  int64_t timeout_seconds = 60;       // per request, at the ingress
  BatchingSpec batching;
  ResourceRequest resources;
  // nodeSelector: each replica only on nodes whose labels hold every pair.
  std::map<std::string, std::string> node_selector;
  bool auth = true;  // false: `auth: none`, the ingress asks no token
};

struct InferenceServiceSpec {
  ObjectMeta metadata;
  PredictorSpec predictor;
  // The new revision's share while it is a canary; unset: promote it once ready.
  std::optional<int32_t> canary_traffic_percent;
  // The predictor as YAML without canaryTrafficPercent: equal keys, same revision.
  std::string revision_key;
};

const char* model_format_name(ModelFormat format);  // "cadre", "pytorch"
const char* scale_metric_name(ScaleMetric metric);  // "concurrency", "rps"

// Parses a whole manifest that must be an InferenceService.
Result<InferenceServiceSpec> parse_inference_service(const std::string& yaml_text,
                                                     const ManifestLimits& limits = {});

}  // namespace cadre::spec

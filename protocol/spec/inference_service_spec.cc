#include "protocol/spec/inference_service_spec.h"

#include <cmath>
#include <cstdlib>

#include "protocol/spec/manifest.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {
namespace {

constexpr const char* kPredictor = "spec.predictor";

std::string at(const std::string& field) { return std::string(kPredictor) + "." + field; }

Result<StorageUri> parse_storage_uri(const std::string& uri, const std::string& path) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) {
    return field_error(path, quote_value(uri) + " is not a URI (file:///PATH or trainjob://NAME)");
  }
  const std::string scheme = uri.substr(0, scheme_end);
  const std::string rest = uri.substr(scheme_end + 3);
  StorageUri out;
  if (scheme == "file") {
    out.scheme = StorageUri::Scheme::kFile;
    out.path = rest;
    if (out.path.empty() || out.path[0] != '/') {
      return field_error(path,
                         quote_value(uri) + " must name an absolute path (file:///models/fmnist)");
    }
    if (out.path.find('\0') != std::string::npos || out.path.size() > 4096) {
      return field_error(path, "the path is not a usable file name");
    }
    return out;
  }
  if (scheme == "trainjob") {
    out.scheme = StorageUri::Scheme::kTrainJob;
    out.path = rest;
    if (!is_dns_label(out.path)) {
      return field_error(path, quote_value(uri) + ": " + quote_value(out.path) +
                                   " is not a job name (a DNS label)");
    }
    return out;
  }
  // Cadre serves what its nodes can read; it downloads nothing (no storage initializer).
  return field_error(path, "scheme " + quote_value(scheme) +
                               " is not supported (file:// on storage every node mounts, or "
                               "trainjob://NAME for a job's exported model)");
}

Result<double> positive_number(YamlReader& reader, const std::string& key) {
  ASSIGN_OR_RETURN(auto text, reader.scalar(key));
  if (!text) return 0.0;
  char* end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 1e6) {
    return field_error(reader.child_path(key), quote_value(*text) + " is not a number in (0, 1e6]");
  }
  return v;
}

Result<BatchingSpec> parse_batching(YamlReader& reader) {
  RETURN_IF_ERROR(reader.only({"maxBatchSize", "preferredBatchSize", "maxQueueDelayMicroseconds",
                               "preserveOrdering", "maxQueueSize", "defaultTimeoutMicroseconds"}));
  BatchingSpec b;
  ASSIGN_OR_RETURN(auto max_batch, reader.integer("maxBatchSize", 1, 1 << 16));
  if (max_batch) b.max_batch_size = static_cast<int32_t>(*max_batch);
  if (reader.has("preferredBatchSize")) {
    const YAML::Node list = reader.node("preferredBatchSize");
    const std::string path = reader.child_path("preferredBatchSize");
    if (!list.IsSequence()) return field_error(path, "must be a list of batch sizes");
    if (list.size() > 64) return field_error(path, "at most 64 sizes");
    for (size_t i = 0; i < list.size(); ++i) {
      int64_t v = 0;
      if (!list[i].IsScalar() || !YAML::convert<int64_t>::decode(list[i], v) || v < 1 ||
          v > (1 << 16)) {
        return field_error(path + "[" + std::to_string(i) + "]", "must be an integer >= 1");
      }
      b.preferred_batch_size.push_back(static_cast<int32_t>(v));
    }
  }
  ASSIGN_OR_RETURN(auto delay, reader.integer("maxQueueDelayMicroseconds", 0, 60'000'000));
  b.max_queue_delay_microseconds = delay;
  ASSIGN_OR_RETURN(b.preserve_ordering, reader.boolean("preserveOrdering"));
  ASSIGN_OR_RETURN(b.max_queue_size, reader.integer("maxQueueSize", 0, 1 << 20));
  ASSIGN_OR_RETURN(b.default_timeout_microseconds,
                   reader.integer("defaultTimeoutMicroseconds", 0, kMaxSeconds * 1'000'000));
  RETURN_IF_ERROR(reader.reject_unknown());
  for (size_t i = 0; i < b.preferred_batch_size.size(); ++i) {
    if (b.max_batch_size && b.preferred_batch_size[i] > *b.max_batch_size) {
      return field_error(reader.child_path("preferredBatchSize") + "[" + std::to_string(i) + "]",
                         std::to_string(b.preferred_batch_size[i]) + " is above maxBatchSize " +
                             std::to_string(*b.max_batch_size));
    }
  }
  return b;
}

Status parse_model(YamlReader& predictor, PredictorSpec& p) {
  ASSIGN_OR_RETURN(auto model, predictor.map("model"));
  if (!model) return field_error(at("model"), "required");
  RETURN_IF_ERROR(model->only({"modelFormat", "storageUri"}));
  ASSIGN_OR_RETURN(auto format, model->map("modelFormat"));
  if (!format) return field_error(at("model.modelFormat"), "required ({name: cadre|pytorch})");
  RETURN_IF_ERROR(format->only({"name"}));
  ASSIGN_OR_RETURN(auto name, format->string("name"));
  if (!name) return field_error(at("model.modelFormat.name"), "required (cadre or pytorch)");
  if (*name == "cadre") {
    p.model_format = ModelFormat::kCadre;
  } else if (*name == "pytorch") {
    p.model_format = ModelFormat::kPytorch;
  } else {
    return field_error(at("model.modelFormat.name"),
                       quote_value(*name) + " is not supported (cadre or pytorch)");
  }
  ASSIGN_OR_RETURN(auto uri, model->string("storageUri"));
  if (!uri) return field_error(at("model.storageUri"), "required");
  p.storage_uri = *uri;
  ASSIGN_OR_RETURN(p.storage, parse_storage_uri(*uri, at("model.storageUri")));
  return model->reject_unknown();
}

Status parse_scaling(YamlReader& predictor, PredictorSpec& p) {
  ASSIGN_OR_RETURN(auto min, predictor.integer("minReplicas", 0, 1000));
  ASSIGN_OR_RETURN(auto max, predictor.integer("maxReplicas", 1, 1000));
  p.min_replicas = static_cast<int32_t>(min.value_or(1));
  p.max_replicas = static_cast<int32_t>(max.value_or(std::max<int64_t>(p.min_replicas, 1)));
  if (p.min_replicas > p.max_replicas) {
    return field_error(
        at("minReplicas"),
        std::to_string(p.min_replicas) + " is above maxReplicas " + std::to_string(p.max_replicas));
  }
  ASSIGN_OR_RETURN(auto metric, predictor.string("scaleMetric"));
  const std::string m = metric.value_or("concurrency");
  if (m == "concurrency") {
    p.scale_metric = ScaleMetric::kConcurrency;
  } else if (m == "rps") {
    p.scale_metric = ScaleMetric::kRps;
  } else {
    return field_error(at("scaleMetric"), quote_value(m) + " is not concurrency or rps");
  }
  ASSIGN_OR_RETURN(const double target, positive_number(predictor, "scaleTarget"));
  if (target > 0) p.scale_target = target;
  ASSIGN_OR_RETURN(auto concurrency, predictor.integer("containerConcurrency", 0, 10000));
  p.container_concurrency = static_cast<int32_t>(concurrency.value_or(0));
  return Status::Ok();
}

Result<PredictorSpec> parse_predictor(YamlReader& predictor) {
  RETURN_IF_ERROR(predictor.only({"model", "minReplicas", "maxReplicas", "scaleMetric",
                                  "scaleTarget", "containerConcurrency", "timeout", "batching",
                                  "resources", "nodeSelector", "canaryTrafficPercent", "auth"}));
  PredictorSpec p;
  RETURN_IF_ERROR(parse_model(predictor, p));
  RETURN_IF_ERROR(parse_scaling(predictor, p));
  ASSIGN_OR_RETURN(auto timeout, predictor.integer("timeout", 1, 3600));
  p.timeout_seconds = timeout.value_or(60);
  ASSIGN_OR_RETURN(auto batching, predictor.map("batching"));
  if (batching) {
    ASSIGN_OR_RETURN(p.batching, parse_batching(*batching));
    if (p.model_format != ModelFormat::kCadre) {
      return field_error(at("batching"),
                         "applies to cadre models; a pytorch model folder declares its batching "
                         "in its config.pbtxt");
    }
  }
  ASSIGN_OR_RETURN(p.node_selector, parse_node_selector(predictor));
  ASSIGN_OR_RETURN(auto resources, predictor.map("resources"));
  if (resources) {
    ASSIGN_OR_RETURN(p.resources, parse_resources(*resources));
  }
  ASSIGN_OR_RETURN(auto auth, predictor.string("auth"));
  if (auth) {
    if (*auth == "none") {
      p.auth = false;
    } else if (*auth != "token") {
      return field_error(at("auth"), quote_value(*auth) + " is not token or none");
    }
  }
  return p;
}

}  // namespace

const char* model_format_name(ModelFormat format) {
  return format == ModelFormat::kPytorch ? "pytorch" : "cadre";
}

const char* scale_metric_name(ScaleMetric metric) {
  return metric == ScaleMetric::kRps ? "rps" : "concurrency";
}

Result<InferenceServiceSpec> parse_inference_service_spec(YamlReader& top, ObjectMeta metadata) {
  InferenceServiceSpec s;
  s.metadata = std::move(metadata);
  if (s.metadata.name.size() > kMaxServiceName) {
    return field_error("metadata.name", "at most " + std::to_string(kMaxServiceName) +
                                            " characters for an InferenceService (its replicas' "
                                            "jobs are named <name>-<revision>-<k>)");
  }
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"predictor"}));
  if (!spec->has("predictor")) return field_error(kPredictor, "required");
  const YAML::Node node = spec->node("predictor");
  ASSIGN_OR_RETURN(YamlReader predictor, YamlReader::Map(node, kPredictor));
  ASSIGN_OR_RETURN(s.predictor, parse_predictor(predictor));
  ASSIGN_OR_RETURN(auto canary, predictor.integer("canaryTrafficPercent", 0, 100));
  s.canary_traffic_percent = canary;
  RETURN_IF_ERROR(predictor.reject_unknown());
  RETURN_IF_ERROR(spec->reject_unknown());
  YAML::Node key = YAML::Clone(node);
  key.remove("canaryTrafficPercent");
  s.revision_key = YAML::Dump(key);
  return s;
}

Result<InferenceServiceSpec> parse_inference_service(const std::string& yaml_text,
                                                     const ManifestLimits& limits) {
  ASSIGN_OR_RETURN(Manifest manifest, parse_manifest(yaml_text, limits));
  if (!manifest.inference_service) {
    return field_error("kind", quote_value(manifest.kind) + " is not InferenceService");
  }
  return *manifest.inference_service;
}

}  // namespace cadre::spec

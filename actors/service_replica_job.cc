#include "actors/service_replica_job.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "protocol/spec/manifest.h"

namespace cadre::actors {
namespace {

// Stages the model in the replica's folder as a one-model repository named after
// the service, then becomes cadre-serve on the port the coordinator reserved
// (CADRE_PEERS is this replica's "address:port"), asking the service's token.
// $1 model name, $2 model file or folder, $3 config.pbtxt for a file ("" : none),
// $4 the file's name in its version folder.
constexpr const char* kReplicaScript = R"(set -eu
if [ -z "${CADRE_PEERS:-}" ]; then
  echo "cadre: this replica has no port: start the node's agent with --port-range" >&2; exit 64
fi
repo="$PWD/repository"
rm -rf "$repo"; mkdir -p "$repo"
if [ -d "$2" ]; then
  ln -s "$2" "$repo/$1"
elif [ -f "$2" ]; then
  mkdir -p "$repo/$1/1"; ln -s "$2" "$repo/$1/1/$4"
  if [ -n "$3" ]; then printf '%s\n' "$3" > "$repo/$1/config.pbtxt"; fi
else
  echo "cadre: the model $2 is not on this node" >&2; exit 65
fi
exec cadre-serve --model-repository "$repo" --host "${CADRE_PEERS%:*}" \
  --http-port "${CADRE_PEERS##*:}" --grpc-port -1 --metrics-port -1 \
  --auth-token-env CADRE_JOB_TOKEN --log-level warn
)";

// config.pbtxt for a model file with batching settings; "" keeps cadre-serve's
// auto-completed config (max_batch_size 64, dynamic batching without delay).
std::string batching_config(const spec::PredictorSpec& p) {
  const auto& b = p.batching;
  if (b.empty()) return "";
  std::string out =
      "backend: \"cadre\"\nmax_batch_size: " + std::to_string(b.max_batch_size.value_or(64)) +
      "\ndynamic_batching {\n";
  for (int32_t size : b.preferred_batch_size) {
    out += "  preferred_batch_size: " + std::to_string(size) + "\n";
  }
  if (b.max_queue_delay_microseconds) {
    out +=
        "  max_queue_delay_microseconds: " + std::to_string(*b.max_queue_delay_microseconds) + "\n";
  }
  if (b.preserve_ordering) {
    out += std::string("  preserve_ordering: ") + (*b.preserve_ordering ? "true" : "false") + "\n";
  }
  if (b.max_queue_size || b.default_timeout_microseconds) {
    out += "  default_queue_policy {\n";
    if (b.max_queue_size) out += "    max_queue_size: " + std::to_string(*b.max_queue_size) + "\n";
    if (b.default_timeout_microseconds) {
      out +=
          "    default_timeout_microseconds: " + std::to_string(*b.default_timeout_microseconds) +
          "\n";
    }
    out += "  }\n";
  }
  return out + "}";
}

}  // namespace

std::string render_replica_job(const protocol::InferenceServiceStatus& service,
                               const spec::InferenceServiceSpec& spec,
                               const protocol::RevisionStatus& rev, const std::string& job) {
  const auto& p = spec.predictor;
  const bool pytorch = p.model_format == spec::ModelFormat::kPytorch;
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << spec::kApiVersion;
  y << YAML::Key << "kind" << YAML::Value << "Job";
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << job;
  y << YAML::Key << "namespace" << YAML::Value << service.ns;
  y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "inferenceservice" << YAML::Value << service.name;
  y << YAML::Key << "revision" << YAML::Value << rev.name << YAML::EndMap;
  y << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "command" << YAML::Value << YAML::BeginSeq << "sh"
    << "-c" << kReplicaScript << "cadre-serve-replica" << service.name << rev.model_path
    << batching_config(p) << (pytorch ? "model.pt" : "model.cadre") << YAML::EndSeq;
  const auto& r = p.resources;
  if (r.cpu_millis > 0 || r.memory_bytes > 0 || r.gpus > 0) {
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
    if (r.cpu_millis > 0)
      y << YAML::Key << "cpu" << YAML::Value << std::to_string(r.cpu_millis) + "m";
    if (r.memory_bytes > 0) {
      y << YAML::Key << "memory" << YAML::Value << std::to_string(r.memory_bytes);
    }
    if (r.gpus > 0) y << YAML::Key << "gpu" << YAML::Value << r.gpus;
    y << YAML::EndMap;
  }
  if (!p.node_selector.empty()) {
    y << YAML::Key << "nodeSelector" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, value] : p.node_selector) y << YAML::Key << key << YAML::Value << value;
    y << YAML::EndMap;
  }
  // cadre-serve finishes the requests it holds on SIGTERM before it exits.
  y << YAML::Key << "terminationGracePeriodSeconds" << YAML::Value
    << std::min<int64_t>(p.timeout_seconds + 5, 3600);
  y << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return y.c_str();
}

}  // namespace cadre::actors

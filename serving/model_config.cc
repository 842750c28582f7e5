#include "serving/model_config.h"

#include <algorithm>
#include <set>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

namespace cadre::serving {
namespace {

// Keeps the first parse error with its position; the parser stops at it anyway.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!message_.empty()) return;
    // Both are zero-based in protobuf; editors count from one.
    message_ = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// protobuf says 'Message type "cadre.serving.config.ModelConfig" has no field named "x".';
// users should read which field of theirs Cadre does not implement.
std::string explain(std::string message) {
  const std::string marker = "has no field named \"";
  const auto at = message.find(marker);
  if (at == std::string::npos) return message;
  const auto start = at + marker.size();
  const auto end = message.find('"', start);
  const std::string field = message.substr(start, end - start);
  const auto pos_end = message.find(": ");
  return message.substr(0, pos_end + 2) + "field '" + field +
         "' is not supported by cadre-serve (docs/serving.md lists the supported fields)";
}

Status check_tensors(const google::protobuf::RepeatedPtrField<config::ModelInput>& inputs,
                     const char* what, std::set<std::string>* names) {
  for (int i = 0; i < inputs.size(); ++i) {
    const auto& t = inputs[i];
    const std::string path = std::string(what) + "[" + std::to_string(i) + "]";
    if (t.name().empty()) return InvalidArgument(path + ".name: must not be empty");
    if (!names->insert(t.name()).second)
      return InvalidArgument(path + ".name: '" + t.name() + "' is declared twice");
    if (t.data_type() == config::TYPE_INVALID)
      return InvalidArgument(path + ".data_type: must be set (TYPE_FP32, TYPE_INT64, ...)");
    if (t.dims().empty()) return InvalidArgument(path + ".dims: must have at least one dimension");
    for (int d = 0; d < t.dims().size(); ++d)
      if (t.dims(d) == 0 || t.dims(d) < -1)
        return InvalidArgument(path + ".dims[" + std::to_string(d) +
                               "]: must be -1 or positive, got " + std::to_string(t.dims(d)));
  }
  return Status::Ok();
}

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& text, const std::string& source) {
  ModelConfig config;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config))
    return InvalidArgument(source + ":" + explain(errors.message()));
  return config;
}

void apply_config_defaults(const std::string& model_name, ModelConfig* config) {
  if (config->name().empty()) config->set_name(model_name);
  if (config->backend().empty() && config->platform() == "pytorch_libtorch")
    config->set_backend("pytorch");
  if (config->instance_group().empty()) config->add_instance_group();
  for (auto& group : *config->mutable_instance_group())
    if (group.count() == 0) group.set_count(1);
  if (config->version_policy().policy_choice_case() ==
      config::ModelVersionPolicy::POLICY_CHOICE_NOT_SET)
    config->mutable_version_policy()->mutable_latest()->set_num_versions(1);
}

Status validate_model_config(const ModelConfig& c) {
  if (c.backend() != "cadre" && c.backend() != "pytorch")
    return InvalidArgument("backend: '" + c.backend().substr(0, 64) +
                           "' is not a cadre-serve backend (cadre, pytorch)");
  if (!c.platform().empty() && c.platform() != "pytorch_libtorch")
    return InvalidArgument("platform: '" + c.platform().substr(0, 64) +
                           "' is not supported (use backend: \"cadre\" or \"pytorch\")");
  if (c.max_batch_size() < 0)
    return InvalidArgument("max_batch_size: must be >= 0, got " +
                           std::to_string(c.max_batch_size()));
  if (c.input().empty()) return InvalidArgument("input: the model declares no inputs");
  if (c.output().empty()) return InvalidArgument("output: the model declares no outputs");
  std::set<std::string> inputs, outputs;
  RETURN_IF_ERROR(check_tensors(c.input(), "input", &inputs));
  // ModelOutput has the same fields as ModelInput; check them the same way.
  google::protobuf::RepeatedPtrField<config::ModelInput> as_inputs;
  for (const auto& o : c.output()) {
    auto* t = as_inputs.Add();
    t->set_name(o.name());
    t->set_data_type(o.data_type());
    *t->mutable_dims() = o.dims();
  }
  RETURN_IF_ERROR(check_tensors(as_inputs, "output", &outputs));

  if (c.has_dynamic_batching()) {
    const auto& b = c.dynamic_batching();
    if (c.max_batch_size() == 0)
      return InvalidArgument(
          "dynamic_batching: needs max_batch_size > 0 (a model without a batch dimension "
          "cannot batch)");
    for (int i = 0; i < b.preferred_batch_size().size(); ++i) {
      const int p = b.preferred_batch_size(i);
      if (p < 1 || p > c.max_batch_size())
        return InvalidArgument("dynamic_batching.preferred_batch_size[" + std::to_string(i) +
                               "]: must be in [1, max_batch_size=" +
                               std::to_string(c.max_batch_size()) + "], got " + std::to_string(p));
    }
    if (b.max_queue_delay_microseconds() > 60'000'000)
      return InvalidArgument(
          "dynamic_batching.max_queue_delay_microseconds: at most 60000000 (a minute), got " +
          std::to_string(b.max_queue_delay_microseconds()));
  }
  for (int i = 0; i < c.instance_group().size(); ++i) {
    const auto& g = c.instance_group(i);
    const std::string path = "instance_group[" + std::to_string(i) + "]";
    if (g.count() < 1 || g.count() > 64)
      return InvalidArgument(path + ".count: must be in [1, 64], got " + std::to_string(g.count()));
    if (g.kind() == config::ModelInstanceGroup::KIND_CPU && !g.gpus().empty())
      return InvalidArgument(path + ".gpus: KIND_CPU instances take no gpus");
    for (int d = 0; d < g.gpus().size(); ++d)
      if (g.gpus(d) < 0)
        return InvalidArgument(path + ".gpus[" + std::to_string(d) + "]: must be >= 0");
  }
  const auto& policy = c.version_policy();
  if (policy.has_latest() && policy.latest().num_versions() < 1)
    return InvalidArgument("version_policy.latest.num_versions: must be >= 1");
  if (policy.has_specific()) {
    if (policy.specific().versions().empty())
      return InvalidArgument("version_policy.specific.versions: must name at least one version");
    for (int64_t v : policy.specific().versions())
      if (v < 1)
        return InvalidArgument("version_policy.specific.versions: versions are >= 1, got " +
                               std::to_string(v));
  }
  return Status::Ok();
}

std::vector<int64_t> versions_to_serve(const ModelConfig& config, std::vector<int64_t> available) {
  std::sort(available.begin(), available.end());
  const auto& policy = config.version_policy();
  if (policy.has_all()) return available;
  if (policy.has_specific()) {
    std::vector<int64_t> out;
    for (int64_t v : available)
      if (std::find(policy.specific().versions().begin(), policy.specific().versions().end(), v) !=
          policy.specific().versions().end())
        out.push_back(v);
    return out;
  }
  const size_t n = policy.has_latest() ? policy.latest().num_versions() : 1;
  if (available.size() > n) available.erase(available.begin(), available.end() - n);
  return available;
}

Dims v2_shape(const ModelConfig& config, const google::protobuf::RepeatedField<int64_t>& dims) {
  Dims shape;
  if (config.max_batch_size() > 0) shape.push_back(-1);
  shape.insert(shape.end(), dims.begin(), dims.end());
  return shape;
}

int total_instance_count(const ModelConfig& config) {
  int n = 0;
  for (const auto& g : config.instance_group())
    n += g.count() * std::max(1, static_cast<int>(g.gpus().size()));
  return n;
}

}  // namespace cadre::serving

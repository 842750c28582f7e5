#include "serving/backends/cadre/cadre_backend.h"

#include <cstring>

#include "kernels/backend.h"
#include "training/model_export.h"

namespace cadre::serving {
namespace {

enum class Output { kLogits, kProbabilities, kLabel };

struct Signature {
  Dims input_dims;  // per sample
  int classes = 0;
  std::vector<std::string> labels;
};

Result<Output> output_kind(const std::string& name) {
  if (name == "logits") return Output::kLogits;
  if (name == "probabilities") return Output::kProbabilities;
  if (name == "label") return Output::kLabel;
  return InvalidArgument("output '" + name +
                         "': a cadre model produces 'logits', 'probabilities' and 'label'");
}

class CadreInstance : public ModelInstance {
 public:
  CadreInstance(std::unique_ptr<kernels::Backend> kernels, training::LoadedModel loaded,
                const ModelConfig& config)
      : kernels_(std::move(kernels)), loaded_(std::move(loaded)), config_(config) {
    // The data loader's arithmetic (training/data/dataset.cc), so the served model
    // sees bit-identical inputs: x * (1 / (255 * stddev)) - mean / stddev in float.
    const auto& norm = loaded_.info.normalization;
    scale_ = 1.0f / (255.0f * norm.stddev);
    shift_ = norm.mean / norm.stddev;
    for (const auto& o : config_.output()) outputs_.push_back(output_kind(o.name()).value());
  }

  Result<std::vector<InferTensor>> execute(const std::vector<InferTensor>& inputs) override {
    const InferTensor& in = inputs[0];
    const int batch = config_.max_batch_size() > 0 ? static_cast<int>(in.shape[0]) : 1;
    const size_t n = in.data.size() / element_size(in.datatype);
    host_.resize(n);
    if (in.datatype == DataType::kUint8) {
      const auto* p = reinterpret_cast<const uint8_t*>(in.data.data());
      for (size_t i = 0; i < n; ++i) host_[i] = p[i] * scale_ - shift_;
    } else {
      std::memcpy(host_.data(), in.data.data(), n * sizeof(float));
      for (size_t i = 0; i < n; ++i) host_[i] = host_[i] * scale_ - shift_;
    }
    training::Shape shape{batch};
    for (int d : loaded_.model->definition().input_shape) shape.push_back(d);
    if (input_.backend() == nullptr) {
      ASSIGN_OR_RETURN(input_, training::Tensor::Create(kernels_.get(), shape));
    } else {
      RETURN_IF_ERROR(input_.ensure(shape));
    }
    RETURN_IF_ERROR(input_.copy_from_host(host_.data(), n));
    RETURN_IF_ERROR(loaded_.model->forward(input_, training::Pass{false, 0}));
    ASSIGN_OR_RETURN(auto logits, loaded_.model->output().to_host());
    const int classes = static_cast<int>(logits.size() / batch);

    std::vector<InferTensor> out;
    for (size_t k = 0; k < outputs_.size(); ++k) {
      InferTensor t;
      t.name = config_.output(static_cast<int>(k)).name();
      t.shape = {classes};
      if (outputs_[k] == Output::kLabel) t.shape = {1};
      if (config_.max_batch_size() > 0) t.shape.insert(t.shape.begin(), batch);
      if (outputs_[k] == Output::kLogits) {
        t.datatype = DataType::kFp32;
        t.data.assign(reinterpret_cast<const char*>(logits.data()), logits.size() * sizeof(float));
      } else if (outputs_[k] == Output::kProbabilities) {
        t.datatype = DataType::kFp32;
        t.data.resize(logits.size() * sizeof(float));
        softmax_rows(logits, classes, reinterpret_cast<float*>(t.data.data()));
      } else {
        t.datatype = DataType::kBytes;
        for (int r = 0; r < batch; ++r) append_bytes_element(&t.data, label_of(logits, r, classes));
      }
      out.push_back(std::move(t));
    }
    return out;
  }

 private:
  static void softmax_rows(const std::vector<float>& logits, int classes, float* out) {
    for (size_t r = 0; r < logits.size() / classes; ++r) {
      const float* x = logits.data() + r * classes;
      float max = x[0];
      for (int c = 1; c < classes; ++c) max = std::max(max, x[c]);
      double sum = 0;
      for (int c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(x[c] - max));
      for (int c = 0; c < classes; ++c)
        out[r * classes + c] = static_cast<float>(std::exp(static_cast<double>(x[c] - max)) / sum);
    }
  }

  std::string label_of(const std::vector<float>& logits, int row, int classes) const {
    const float* x = logits.data() + static_cast<size_t>(row) * classes;
    int best = 0;
    for (int c = 1; c < classes; ++c)
      if (x[c] > x[best]) best = c;
    const auto& labels = loaded_.info.labels;
    return best < static_cast<int>(labels.size()) ? labels[best] : std::to_string(best);
  }

  std::unique_ptr<kernels::Backend> kernels_;
  training::LoadedModel loaded_;
  ModelConfig config_;
  std::vector<Output> outputs_;
  float scale_ = 1, shift_ = 0;
  std::vector<float> host_;
  training::Tensor input_;
};

Result<std::unique_ptr<kernels::Backend>> make_kernels(const InstanceOptions& options) {
  kernels::BackendOptions k;
  k.device = options.device;
  k.cuda_device = options.gpu;
  k.threads = options.cpu_threads;
  return kernels::create_backend(k);
}

// Reads the architecture and the class count by running one zero sample.
Result<Signature> read_signature(const std::string& model_file) {
  ASSIGN_OR_RETURN(auto kernels, make_kernels(InstanceOptions{}));
  ASSIGN_OR_RETURN(auto loaded, training::load_exported_model(model_file, kernels.get()));
  Signature s;
  training::Shape shape{1};
  for (int d : loaded.model->definition().input_shape) {
    shape.push_back(d);
    s.input_dims.push_back(d);
  }
  ASSIGN_OR_RETURN(auto x, training::Tensor::Create(kernels.get(), shape));
  RETURN_IF_ERROR(loaded.model->forward(x, training::Pass{false, 0}));
  s.classes = static_cast<int>(loaded.model->output().size());
  s.labels = loaded.info.labels;
  return s;
}

}  // namespace

bool CadreBackend::supports_gpu() const { return kernels::cuda_available(); }

Status CadreBackend::autocomplete(const std::string& model_file, ModelConfig* config) const {
  ASSIGN_OR_RETURN(const Signature sig, read_signature(model_file));
  if (config->input().empty() && config->output().empty() && config->max_batch_size() == 0) {
    // Nothing declared: batch, and batch dynamically, as Triton's auto-complete does.
    config->set_max_batch_size(64);
    config->mutable_dynamic_batching();
  }
  if (config->input().empty()) {
    auto* in = config->add_input();
    in->set_name("input");
    in->set_data_type(config::TYPE_FP32);
    for (int64_t d : sig.input_dims) in->add_dims(d);
  }
  if (config->output().empty()) {
    for (const char* name : {"logits", "probabilities"}) {
      auto* out = config->add_output();
      out->set_name(name);
      out->set_data_type(config::TYPE_FP32);
      out->add_dims(sig.classes);
    }
    auto* label = config->add_output();
    label->set_name("label");
    label->set_data_type(config::TYPE_STRING);
    label->add_dims(1);
  }
  // What the config declares must be what the model computes.
  if (config->input().size() != 1)
    return InvalidArgument("input: a cadre model has exactly one input, the config declares " +
                           std::to_string(config->input().size()));
  const auto& in = config->input(0);
  if (in.data_type() != config::TYPE_FP32 && in.data_type() != config::TYPE_UINT8)
    return InvalidArgument("input[0].data_type: a cadre model takes TYPE_FP32 or TYPE_UINT8, got " +
                           std::string(config_name(to_data_type(in.data_type()))));
  if (Dims(in.dims().begin(), in.dims().end()) != sig.input_dims)
    return InvalidArgument("input[0].dims: the model takes " + dims_string(sig.input_dims) +
                           ", the config declares " +
                           dims_string(Dims(in.dims().begin(), in.dims().end())));
  for (int i = 0; i < config->output().size(); ++i) {
    const auto& o = config->output(i);
    const std::string path = "output[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(const Output kind, output_kind(o.name()));
    const auto want_type = kind == Output::kLabel ? config::TYPE_STRING : config::TYPE_FP32;
    const Dims want_dims = kind == Output::kLabel ? Dims{1} : Dims{sig.classes};
    if (o.data_type() != want_type)
      return InvalidArgument(path + ".data_type: '" + o.name() + "' is " +
                             config_name(to_data_type(want_type)));
    if (Dims(o.dims().begin(), o.dims().end()) != want_dims)
      return InvalidArgument(path + ".dims: '" + o.name() + "' has dims " + dims_string(want_dims));
  }
  return Status::Ok();
}

Result<std::unique_ptr<ModelInstance>> CadreBackend::create_instance(
    const std::string& model_file, const ModelConfig& config,
    const InstanceOptions& options) const {
  ASSIGN_OR_RETURN(auto kernels, make_kernels(options));
  ASSIGN_OR_RETURN(auto loaded, training::load_exported_model(model_file, kernels.get()));
  return std::unique_ptr<ModelInstance>(
      new CadreInstance(std::move(kernels), std::move(loaded), config));
}

}  // namespace cadre::serving

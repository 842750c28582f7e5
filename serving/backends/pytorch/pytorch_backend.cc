#include "serving/backends/pytorch/pytorch_backend.h"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <mutex>

namespace cadre::serving {
namespace {

std::optional<at::ScalarType> torch_type(DataType type) {
  switch (type) {
    case DataType::kBool:
      return at::kBool;
    case DataType::kUint8:
      return at::kByte;
    case DataType::kInt8:
      return at::kChar;
    case DataType::kInt16:
      return at::kShort;
    case DataType::kInt32:
      return at::kInt;
    case DataType::kInt64:
      return at::kLong;
    case DataType::kFp16:
      return at::kHalf;
    case DataType::kFp32:
      return at::kFloat;
    case DataType::kFp64:
      return at::kDouble;
    case DataType::kBf16:
      return at::kBFloat16;
    default:
      return std::nullopt;
  }
}

class PyTorchInstance : public ModelInstance {
 public:
  PyTorchInstance(torch::jit::Module module, const ModelConfig& config)
      : module_(std::move(module)), config_(config) {}

  Result<std::vector<InferTensor>> execute(const std::vector<InferTensor>& inputs) override {
    try {
      c10::InferenceMode guard;
      std::vector<torch::jit::IValue> args;
      for (const InferTensor& in : inputs) {
        std::vector<int64_t> shape(in.shape.begin(), in.shape.end());
        // from_blob borrows the request's bytes; they outlive forward().
        args.emplace_back(torch::from_blob(const_cast<char*>(in.data.data()), shape,
                                           torch::TensorOptions().dtype(*torch_type(in.datatype))));
      }
      const torch::jit::IValue result = module_.forward(args);
      std::vector<at::Tensor> tensors;
      if (result.isTensor()) {
        tensors.push_back(result.toTensor());
      } else if (result.isTuple()) {
        for (const auto& e : result.toTupleRef().elements()) tensors.push_back(e.toTensor());
      } else if (result.isTensorList()) {
        for (const auto& t : result.toTensorVector()) tensors.push_back(t);
      } else {
        return Internal("forward() returned " + result.tagKind() +
                        ", expected a tensor, a tuple or a list of tensors");
      }
      if (static_cast<int>(tensors.size()) < config_.output().size())
        return Internal("forward() returned " + std::to_string(tensors.size()) +
                        " tensors, the config declares " + std::to_string(config_.output().size()) +
                        " outputs");
      std::vector<InferTensor> out;
      for (int i = 0; i < config_.output().size(); ++i) {
        const auto& decl = config_.output(i);
        const DataType type = to_data_type(decl.data_type());
        at::Tensor t = tensors[i].contiguous();
        if (t.scalar_type() != *torch_type(type))
          return Internal("output '" + decl.name() + "' is " +
                          std::string(c10::toString(t.scalar_type())) + ", the config says " +
                          config_name(type));
        InferTensor o;
        o.name = decl.name();
        o.datatype = type;
        o.shape.assign(t.sizes().begin(), t.sizes().end());
        o.data.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
        out.push_back(std::move(o));
      }
      return out;
    } catch (const std::exception& e) {
      return Internal(std::string("libtorch: ") + e.what());
    }
  }

 private:
  torch::jit::Module module_;
  ModelConfig config_;
};

Result<torch::jit::Module> load_module(const std::string& model_file) {
  try {
    torch::jit::Module m = torch::jit::load(model_file, torch::kCPU);
    m.eval();
    return m;
  } catch (const std::exception& e) {
    std::string what = e.what();
    return DataLoss(model_file + ": not a TorchScript model (" + what.substr(0, what.find('\n')) +
                    ")");
  }
}

}  // namespace

Status PyTorchBackend::autocomplete(const std::string& model_file, ModelConfig* config) const {
  ASSIGN_OR_RETURN(auto module, load_module(model_file));
  if (config->input().empty() || config->output().empty())
    return InvalidArgument(
        "a pytorch model needs its input and output declared in config.pbtxt (TorchScript "
        "records no shapes)");
  for (int i = 0; i < config->input().size(); ++i)
    if (!torch_type(to_data_type(config->input(i).data_type())))
      return InvalidArgument("input[" + std::to_string(i) + "].data_type: " +
                             config_name(to_data_type(config->input(i).data_type())) +
                             " has no libtorch tensor type");
  for (int i = 0; i < config->output().size(); ++i)
    if (!torch_type(to_data_type(config->output(i).data_type())))
      return InvalidArgument("output[" + std::to_string(i) + "].data_type: " +
                             config_name(to_data_type(config->output(i).data_type())) +
                             " has no libtorch tensor type");
  return Status::Ok();
}

Result<std::unique_ptr<ModelInstance>> PyTorchBackend::create_instance(
    const std::string& model_file, const ModelConfig& config,
    const InstanceOptions& options) const {
  // libtorch's intra-op pool is process-wide; the first instance sets it.
  static std::once_flag threads_set;
  std::call_once(threads_set, [&] { at::set_num_threads(std::max(1, options.cpu_threads)); });
  ASSIGN_OR_RETURN(auto module, load_module(model_file));
  return std::unique_ptr<ModelInstance>(new PyTorchInstance(std::move(module), config));
}

}  // namespace cadre::serving

// The library's entry point (serving/backend.h): cadre-serve loads this backend
// only when a model needs it.
extern "C" __attribute__((visibility("default"))) const cadre::serving::Backend*
cadre_backend_create() {
  static const cadre::serving::PyTorchBackend backend;
  return &backend;
}

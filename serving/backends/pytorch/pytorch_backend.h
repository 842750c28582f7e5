// TorchScript models (model.pt, written by torch.jit.save) through libtorch, on
// CPU. As in Triton's PyTorch backend, TorchScript records no tensor shapes, so
// config.pbtxt must declare the inputs and outputs: inputs are passed to forward()
// positionally in config order; a tensor result is the single output, a tuple or
// list result gives the outputs in config order.
//
// This header has no libtorch include: only pytorch_backend.cc sees libtorch.
#pragma once

#include "serving/backend.h"

namespace cadre::serving {

class PyTorchBackend : public Backend {
 public:
  std::string name() const override { return "pytorch"; }
  std::string default_model_filename() const override { return "model.pt"; }
  bool supports_gpu() const override { return false; }
  Status autocomplete(const std::string& model_file, ModelConfig* config) const override;
  Result<std::unique_ptr<ModelInstance>> create_instance(
      const std::string& model_file, const ModelConfig& config,
      const InstanceOptions& options) const override;
};

}  // namespace cadre::serving

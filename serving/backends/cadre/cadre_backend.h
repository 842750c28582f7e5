// Models exported by `cadre-train --export` (training/model_export.h), executed with
// the training engine's own layers and kernels: the same numerics as training.
//
// Signature: input "input" (TYPE_FP32 or TYPE_UINT8, dims = the model's input shape)
// holding raw pixel values 0..255, normalised exactly as cadre-train's data loader
// does; outputs "logits" and "probabilities" (TYPE_FP32, [classes]) and "label"
// (TYPE_STRING, [1], the class name). A config may declare any subset of outputs.
#pragma once

#include "serving/backend.h"

namespace cadre::serving {

class CadreBackend : public Backend {
 public:
  std::string name() const override { return "cadre"; }
  std::string default_model_filename() const override { return "model.cadre"; }
  bool supports_gpu() const override;
  Status autocomplete(const std::string& model_file, ModelConfig* config) const override;
  Result<std::unique_ptr<ModelInstance>> create_instance(
      const std::string& model_file, const ModelConfig& config,
      const InstanceOptions& options) const override;
};

}  // namespace cadre::serving

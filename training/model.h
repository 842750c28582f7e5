// A sequential model whose parameters and gradients each live in one flat
// buffer. Layers see views; collectives, optimizers, parameter servers and
// checkpoints see one contiguous vector.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/layers/layer.h"

namespace cadre::training {

// Where one named parameter sits in the flat buffer ("2.conv2d.weight").
struct ParamInfo {
  std::string name;
  Shape shape;
  size_t offset = 0;
  int fan_in = 0;
};

// An architecture: per-sample input shape plus layer descriptions.
struct ModelDefinition {
  std::string name;
  Shape input_shape;
  std::vector<nlohmann::json> layers;
};

// The built-in architectures: "mlp" and "cnn" for 1x28x28 images, 10 classes.
// `hidden` sets the mlp's hidden layer widths (empty: 256, 128); the cnn takes none.
Result<ModelDefinition> model_definition(const std::string& name,
                                         const std::vector<int>& hidden = {});

class Model {
 public:
  static Result<std::unique_ptr<Model>> Create(kernels::Backend* backend,
                                               const ModelDefinition& definition);

  // He-uniform weights (bound sqrt(6 / fan_in)), zero biases; the same seed gives
  // the same parameters on every rank and every device.
  Status initialize(uint64_t seed);

  // Runs every layer; output() is then the logits [batch, classes].
  Status forward(const Tensor& x, const Pass& pass);
  // Back-propagates d(loss)/d(logits) from the last forward(x) into gradients().
  Status backward(const Tensor& x, const Tensor& dlogits);

  const Tensor& output() const { return activations_.back(); }
  Tensor& parameters() { return params_; }
  Tensor& gradients() { return grads_; }
  const std::vector<ParamInfo>& param_info() const { return info_; }
  const ModelDefinition& definition() const { return definition_; }
  const Layer& layer(size_t i) const { return *layers_[i]; }
  size_t num_layers() const { return layers_.size(); }

 private:
  ModelDefinition definition_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<ParamInfo> info_;
  Tensor params_, grads_;
  // activations_[i] is layer i's output; deltas_[i] the gradient w.r.t. it.
  std::vector<Tensor> activations_, deltas_;
};

}  // namespace cadre::training

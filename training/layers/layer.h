// The layer interface. A layer is constructed with its per-sample input shape
// already resolved (the model builder walks shapes front to back), declares the
// parameters it needs, and is bound to views into the model's flat parameter and
// gradient buffers. Activations are owned by the model; scratch (im2col columns,
// pooling arg-max, dropout masks) is owned by the layer that needs it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/tensor.h"

namespace cadre::training {

struct ParamSpec {
  std::string name;  // "weight" or "bias"
  Shape shape;
  // Fan-in for He initialisation; 0 means the parameter starts at zero.
  int fan_in = 0;
};

// Per-call context: dropout needs to know whether it is training and which mask.
struct Pass {
  bool training = false;
  uint64_t seed = 0;  // distinct per step so masks differ between steps
};

class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string type() const = 0;
  // Hyper-parameters as written to an exported model (docs/training.md).
  virtual nlohmann::json config() const = 0;
  // Per-sample output shape (no batch dimension).
  virtual Shape output_shape() const = 0;
  virtual std::vector<ParamSpec> param_specs() const { return {}; }
  // values[i] / grads[i] follow param_specs() order.
  virtual void bind(std::vector<Tensor> values, std::vector<Tensor> grads) {}

  // y is resized by the layer to [batch, output_shape()...].
  virtual Status forward(const Tensor& x, Tensor* y, const Pass& pass) = 0;
  // Writes parameter gradients (overwriting) and, when dx is non-null, the input
  // gradient. x and y are the tensors of the preceding forward call.
  virtual Status backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) = 0;
};

// [batch] + per-sample shape.
inline Shape batched(int batch, const Shape& sample) {
  Shape s{batch};
  s.insert(s.end(), sample.begin(), sample.end());
  return s;
}

}  // namespace cadre::training

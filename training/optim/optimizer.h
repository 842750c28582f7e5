// Optimizers update a flat parameter vector from a flat gradient vector with a
// single fused kernel. The same class serves a whole model (all-reduce mode) and
// one parameter-server shard (PS mode).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "training/tensor.h"

namespace cadre::training {

struct OptimizerOptions {
  std::string kind = "adam";  // "sgd" (with momentum) or "adam"
  float momentum = 0.9f;      // sgd
  float weight_decay = 0.0f;  // sgd, L2 added to the gradient
  float beta1 = 0.9f;         // adam
  float beta2 = 0.999f;       // adam
  float eps = 1e-8f;          // adam
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update with learning rate lr; increments steps().
  virtual Status step(float lr, const Tensor& grad, Tensor* param) = 0;
  // Named state tensors, saved to and restored from checkpoints in this order.
  virtual std::vector<std::pair<std::string, Tensor*>> state() = 0;
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }

  // An optimizer for n parameters in backend's memory.
  static Result<std::unique_ptr<Optimizer>> Create(const OptimizerOptions& options,
                                                   kernels::Backend* backend, size_t n);

 protected:
  int64_t steps_ = 0;
};

}  // namespace cadre::training

// SGD with momentum, in PyTorch's formulation (v = mu v + g; w -= lr v) so the
// same learning rates mean the same thing in both runtimes.
#pragma once

#include "training/optim/optimizer.h"

namespace cadre::training {

class Sgd final : public Optimizer {
 public:
  Sgd(const OptimizerOptions& options, Tensor velocity)
      : options_(options), velocity_(std::move(velocity)) {}

  Status step(float lr, const Tensor& grad, Tensor* param) override {
    ++steps_;
    return param->backend()->sgd_momentum_update(param->size(), lr, options_.momentum,
                                                 options_.weight_decay, grad.data(),
                                                 velocity_.data(), param->data());
  }
  std::vector<std::pair<std::string, Tensor*>> state() override {
    return {{"velocity", &velocity_}};
  }

 private:
  OptimizerOptions options_;
  Tensor velocity_;
};

}  // namespace cadre::training

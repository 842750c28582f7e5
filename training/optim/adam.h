// Adam (Kingma & Ba, 2015) with bias-corrected moments.
#pragma once

#include "training/optim/optimizer.h"

namespace cadre::training {

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerOptions& options, Tensor m, Tensor v)
      : options_(options), m_(std::move(m)), v_(std::move(v)) {}

  Status step(float lr, const Tensor& grad, Tensor* param) override {
    ++steps_;
    return param->backend()->adam_update(param->size(), lr, options_.beta1, options_.beta2,
                                         options_.eps, steps_, grad.data(), m_.data(), v_.data(),
                                         param->data());
  }
  std::vector<std::pair<std::string, Tensor*>> state() override { return {{"m", &m_}, {"v", &v_}}; }

 private:
  OptimizerOptions options_;
  Tensor m_, v_;
};

}  // namespace cadre::training

// Inverted dropout: scales survivors by 1/(1-p) during training so inference is
// the identity. The mask comes from a counter-based hash of the step seed, so a
// resumed run and the CUDA path draw exactly the same masks.
#pragma once

#include "training/layers/layer.h"

namespace cadre::training {

class Dropout final : public Layer {
 public:
  Dropout(const Shape& in_shape, float p) : in_(in_shape), p_(p) {}

  std::string type() const override { return "dropout"; }
  nlohmann::json config() const override { return {{"p", p_}}; }
  Shape output_shape() const override { return in_; }
  Status forward(const Tensor& x, Tensor* y, const Pass& pass) override;
  Status backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

 private:
  Shape in_;
  float p_;
  bool last_training_ = false;
  Tensor mask_;
};

}  // namespace cadre::training

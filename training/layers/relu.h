// Rectified linear unit; the backward pass gates on the output, so no copy of
// the input is kept.
#pragma once

#include "training/layers/layer.h"

namespace cadre::training {

class ReLU final : public Layer {
 public:
  explicit ReLU(const Shape& in_shape) : in_(in_shape) {}

  std::string type() const override { return "relu"; }
  nlohmann::json config() const override { return nlohmann::json::object(); }
  Shape output_shape() const override { return in_; }
  Status forward(const Tensor& x, Tensor* y, const Pass&) override {
    RETURN_IF_ERROR(y->ensure(x.shape()));
    return x.backend()->relu_forward(x.size(), x.data(), y->data());
  }
  Status backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override {
    if (!dx) return Status::Ok();
    RETURN_IF_ERROR(dx->ensure(x.shape()));
    return x.backend()->relu_backward(x.size(), y.data(), dy.data(), dx->data());
  }

 private:
  Shape in_;
};

}  // namespace cadre::training

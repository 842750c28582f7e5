// Reshapes [N, C, H, W] to [N, C*H*W]. NCHW is already contiguous per sample,
// so this is a copy with a new shape.
#pragma once

#include "training/layers/layer.h"

namespace cadre::training {

class Flatten final : public Layer {
 public:
  explicit Flatten(const Shape& in_shape) : in_(in_shape) {}

  std::string type() const override { return "flatten"; }
  nlohmann::json config() const override { return nlohmann::json::object(); }
  Shape output_shape() const override { return {static_cast<int>(shape_size(in_))}; }
  Status forward(const Tensor& x, Tensor* y, const Pass&) override {
    RETURN_IF_ERROR(y->ensure(batched(x.dim(0), output_shape())));
    return x.backend()->copy(y->data(), x.data(), x.size() * sizeof(float));
  }
  Status backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    if (!dx) return Status::Ok();
    RETURN_IF_ERROR(dx->ensure(x.shape()));
    return x.backend()->copy(dx->data(), dy.data(), dy.size() * sizeof(float));
  }

 private:
  Shape in_;
};

}  // namespace cadre::training

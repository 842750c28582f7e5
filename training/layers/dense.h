// Fully connected layer, y = x W^T + b with W stored [out, in] as PyTorch does,
// so exported weights load into either runtime without transposing.
#pragma once

#include "training/layers/layer.h"

namespace cadre::training {

class Dense final : public Layer {
 public:
  Dense(int in_features, int out_features) : in_(in_features), out_(out_features) {}

  std::string type() const override { return "dense"; }
  nlohmann::json config() const override { return {{"in", in_}, {"out", out_}}; }
  Shape output_shape() const override { return {out_}; }
  std::vector<ParamSpec> param_specs() const override;
  void bind(std::vector<Tensor> values, std::vector<Tensor> grads) override;
  Status forward(const Tensor& x, Tensor* y, const Pass& pass) override;
  Status backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

 private:
  int in_, out_;
  Tensor w_, b_, dw_, db_;
};

}  // namespace cadre::training

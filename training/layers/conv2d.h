// 2-D convolution over NCHW input; weights are [out_channels, in_channels, k, k]
// (PyTorch layout). The arithmetic is the backend's fused conv2d kernels.
#pragma once

#include "training/layers/layer.h"

namespace cadre::training {

class Conv2D final : public Layer {
 public:
  // in_shape is [channels, height, width]; "same" padding when pad = k / 2.
  Conv2D(const Shape& in_shape, int out_channels, int kernel, int pad, int stride = 1);

  std::string type() const override { return "conv2d"; }
  nlohmann::json config() const override;
  Shape output_shape() const override;
  std::vector<ParamSpec> param_specs() const override;
  void bind(std::vector<Tensor> values, std::vector<Tensor> grads) override;
  Status forward(const Tensor& x, Tensor* y, const Pass& pass) override;
  Status backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

 private:
  kernels::ConvShape conv_shape(int batch) const;

  Shape in_;
  int out_channels_, kernel_, pad_, stride_;
  Tensor w_, b_, dw_, db_;
};

}  // namespace cadre::training

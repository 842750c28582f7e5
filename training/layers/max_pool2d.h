// Max pooling over NCHW windows; remembers the arg-max of each window so the
// backward pass is a single scatter.
#pragma once

#include "training/layers/layer.h"

namespace cadre::training {

class MaxPool2D final : public Layer {
 public:
  MaxPool2D(const Shape& in_shape, int window, int stride)
      : in_(in_shape), window_(window), stride_(stride) {}

  std::string type() const override { return "maxpool2d"; }
  nlohmann::json config() const override { return {{"window", window_}, {"stride", stride_}}; }
  Shape output_shape() const override;
  Status forward(const Tensor& x, Tensor* y, const Pass& pass) override;
  Status backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

 private:
  kernels::ConvShape pool_shape(int batch) const {
    return {batch, in_[0], in_[1], in_[2], window_, window_, 0, stride_};
  }

  Shape in_;
  int window_, stride_;
  kernels::Buffer argmax_;
};

}  // namespace cadre::training

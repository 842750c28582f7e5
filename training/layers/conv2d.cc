#include "training/layers/conv2d.h"

namespace cadre::training {

Conv2D::Conv2D(const Shape& in_shape, int out_channels, int kernel, int pad, int stride)
    : in_(in_shape), out_channels_(out_channels), kernel_(kernel), pad_(pad), stride_(stride) {}

kernels::ConvShape Conv2D::conv_shape(int batch) const {
  return {batch, in_[0], in_[1], in_[2], kernel_, kernel_, pad_, stride_};
}

nlohmann::json Conv2D::config() const {
  return {{"in_channels", in_[0]},
          {"out_channels", out_channels_},
          {"kernel", kernel_},
          {"pad", pad_},
          {"stride", stride_}};
}

Shape Conv2D::output_shape() const {
  auto s = conv_shape(1);
  return {out_channels_, s.out_height(), s.out_width()};
}

std::vector<ParamSpec> Conv2D::param_specs() const {
  const int fan_in = in_[0] * kernel_ * kernel_;
  return {{"weight", {out_channels_, in_[0], kernel_, kernel_}, fan_in},
          {"bias", {out_channels_}, 0}};
}

void Conv2D::bind(std::vector<Tensor> values, std::vector<Tensor> grads) {
  w_ = values[0], b_ = values[1], dw_ = grads[0], db_ = grads[1];
}

Status Conv2D::forward(const Tensor& x, Tensor* y, const Pass&) {
  const int n = x.dim(0);
  if (x.shape() != batched(n, in_))
    return InvalidArgument("conv2d: input " + shape_string(x.shape()) + ", expected " +
                           shape_string(batched(n, in_)));
  RETURN_IF_ERROR(y->ensure(batched(n, output_shape())));
  return x.backend()->conv2d_forward(conv_shape(n), out_channels_, x.data(), w_.data(), b_.data(),
                                     y->data());
}

Status Conv2D::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx) RETURN_IF_ERROR(dx->ensure(x.shape()));
  return x.backend()->conv2d_backward(conv_shape(x.dim(0)), out_channels_, x.data(), w_.data(),
                                      dy.data(), dw_.data(), db_.data(), dx ? dx->data() : nullptr);
}

}  // namespace cadre::training

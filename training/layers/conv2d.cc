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
  auto* be = x.backend();
  const auto s = conv_shape(n);
  const int rows = in_[0] * kernel_ * kernel_;
  const int hw = s.out_height() * s.out_width();
  const int cols = n * hw;
  if (!col_.backend()) {
    ASSIGN_OR_RETURN(col_, Tensor::Create(be, {rows, cols}));
    ASSIGN_OR_RETURN(cn_, Tensor::Create(be, {out_channels_, cols}));
  }
  RETURN_IF_ERROR(col_.ensure({rows, cols}));
  RETURN_IF_ERROR(cn_.ensure({out_channels_, cols}));
  RETURN_IF_ERROR(y->ensure(batched(n, output_shape())));
  RETURN_IF_ERROR(be->im2col(s, x.data(), col_.data()));
  // cn[OC, N*OH*OW] = W[OC, C*k*k] col ; bias per channel row ; then to NCHW.
  RETURN_IF_ERROR(be->gemm(false, false, out_channels_, cols, rows, 1.0f, w_.data(), col_.data(),
                           0.0f, cn_.data()));
  RETURN_IF_ERROR(be->bias_add(1, out_channels_, cols, b_.data(), cn_.data()));
  return be->cn_to_nchw(n, out_channels_, hw, cn_.data(), y->data());
}

Status Conv2D::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int n = x.dim(0);
  auto* be = x.backend();
  const auto s = conv_shape(n);
  const int rows = in_[0] * kernel_ * kernel_;
  const int hw = s.out_height() * s.out_width();
  const int cols = n * hw;
  // Reuse cn_ for dy in channel-major layout: forward's output is no longer needed.
  RETURN_IF_ERROR(be->nchw_to_cn(n, out_channels_, hw, dy.data(), cn_.data()));
  RETURN_IF_ERROR(be->gemm(false, true, out_channels_, rows, cols, 1.0f, cn_.data(), col_.data(),
                           0.0f, dw_.data()));
  RETURN_IF_ERROR(be->bias_grad(1, out_channels_, cols, cn_.data(), db_.data()));
  if (!dx) return Status::Ok();  // first layer: the input gradient is never used
  if (!dcol_.backend()) {
    ASSIGN_OR_RETURN(dcol_, Tensor::Create(be, {rows, cols}));
  }
  RETURN_IF_ERROR(dcol_.ensure({rows, cols}));
  RETURN_IF_ERROR(be->gemm(true, false, rows, cols, out_channels_, 1.0f, w_.data(), cn_.data(),
                           0.0f, dcol_.data()));
  RETURN_IF_ERROR(dx->ensure(x.shape()));
  return be->col2im(s, dcol_.data(), dx->data());
}

}  // namespace cadre::training

#include "training/layers/dense.h"

namespace cadre::training {

std::vector<ParamSpec> Dense::param_specs() const {
  return {{"weight", {out_, in_}, in_}, {"bias", {out_}, 0}};
}

void Dense::bind(std::vector<Tensor> values, std::vector<Tensor> grads) {
  w_ = values[0], b_ = values[1], dw_ = grads[0], db_ = grads[1];
}

Status Dense::forward(const Tensor& x, Tensor* y, const Pass&) {
  const int n = x.dim(0);
  if (static_cast<int>(x.size() / n) != in_)
    return InvalidArgument("dense: input " + shape_string(x.shape()) + " has not " +
                           std::to_string(in_) + " features");
  RETURN_IF_ERROR(y->ensure({n, out_}));
  auto* be = x.backend();
  RETURN_IF_ERROR(be->gemm(false, true, n, out_, in_, 1.0f, x.data(), w_.data(), 0.0f, y->data()));
  return be->bias_add(n, out_, 1, b_.data(), y->data());
}

Status Dense::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int n = x.dim(0);
  auto* be = x.backend();
  // dW[out, in] = dy^T x ; db = column sums of dy ; dx = dy W.
  RETURN_IF_ERROR(be->gemm(true, false, out_, in_, n, 1.0f, dy.data(), x.data(), 0.0f, dw_.data()));
  RETURN_IF_ERROR(be->bias_grad(n, out_, 1, dy.data(), db_.data()));
  if (!dx) return Status::Ok();
  RETURN_IF_ERROR(dx->ensure(x.shape()));
  return be->gemm(false, false, n, in_, out_, 1.0f, dy.data(), w_.data(), 0.0f, dx->data());
}

}  // namespace cadre::training

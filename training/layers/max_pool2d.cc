#include "training/layers/max_pool2d.h"

namespace cadre::training {

Shape MaxPool2D::output_shape() const {
  auto s = pool_shape(1);
  return {in_[0], s.out_height(), s.out_width()};
}

Status MaxPool2D::forward(const Tensor& x, Tensor* y, const Pass&) {
  const int n = x.dim(0);
  if (x.shape() != batched(n, in_))
    return InvalidArgument("maxpool2d: input " + shape_string(x.shape()) + ", expected " +
                           shape_string(batched(n, in_)));
  RETURN_IF_ERROR(y->ensure(batched(n, output_shape())));
  const size_t need = y->size() * sizeof(int32_t);
  if (argmax_.bytes() < need) {
    ASSIGN_OR_RETURN(argmax_, kernels::Buffer::Create(x.backend(), need));
  }
  return x.backend()->maxpool_forward(pool_shape(n), x.data(), y->data(), argmax_.as<int32_t>());
}

Status MaxPool2D::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (!dx) return Status::Ok();
  RETURN_IF_ERROR(dx->ensure(x.shape()));
  return x.backend()->maxpool_backward(pool_shape(x.dim(0)), dy.data(), argmax_.as<int32_t>(),
                                       dx->data());
}

}  // namespace cadre::training

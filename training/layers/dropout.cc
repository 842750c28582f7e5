#include "training/layers/dropout.h"

namespace cadre::training {

Status Dropout::forward(const Tensor& x, Tensor* y, const Pass& pass) {
  RETURN_IF_ERROR(y->ensure(x.shape()));
  auto* be = x.backend();
  last_training_ = pass.training && p_ > 0.0f;
  if (!last_training_) return be->copy(y->data(), x.data(), x.size() * sizeof(float));
  if (!mask_.backend()) {
    ASSIGN_OR_RETURN(mask_, Tensor::Create(be, x.shape()));
  }
  RETURN_IF_ERROR(mask_.ensure(x.shape()));
  return be->dropout_forward(x.size(), p_, pass.seed, x.data(), y->data(), mask_.data());
}

Status Dropout::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (!dx) return Status::Ok();
  RETURN_IF_ERROR(dx->ensure(x.shape()));
  if (!last_training_) return x.backend()->copy(dx->data(), dy.data(), dy.size() * sizeof(float));
  return x.backend()->multiply(dy.size(), dy.data(), mask_.data(), dx->data());
}

}  // namespace cadre::training

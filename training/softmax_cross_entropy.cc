#include "training/softmax_cross_entropy.h"

namespace cadre::training {

Status SoftmaxCrossEntropy::set_labels(const int32_t* labels, int n) {
  const size_t bytes = static_cast<size_t>(n) * sizeof(int32_t);
  if (labels_.bytes() < bytes) {
    ASSIGN_OR_RETURN(labels_, kernels::Buffer::Create(backend_, bytes));
  }
  n_ = n;
  return backend_->copy_from_host(labels_.data(), labels, bytes);
}

Result<kernels::XentResult> SoftmaxCrossEntropy::compute(const Tensor& logits, bool want_grad,
                                                         float grad_scale) {
  const int n = logits.dim(0), classes = logits.dim(1);
  if (n != n_)
    return InvalidArgument("softmax_cross_entropy: " + std::to_string(n) + " logits rows but " +
                           std::to_string(n_) + " labels");
  float* g = nullptr;
  if (want_grad) {
    if (!grad_.backend()) {
      ASSIGN_OR_RETURN(grad_, Tensor::Create(backend_, logits.shape()));
    }
    RETURN_IF_ERROR(grad_.ensure(logits.shape()));
    g = grad_.data();
  }
  return backend_->softmax_cross_entropy(n, classes, logits.data(), labels_.as<int32_t>(),
                                         grad_scale / static_cast<float>(n), g);
}

}  // namespace cadre::training

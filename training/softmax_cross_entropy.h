// Softmax cross-entropy loss over logits [batch, classes] with integer labels.
// Owns the label buffer and the logits gradient in the backend's memory.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/buffer.h"
#include "training/tensor.h"

namespace cadre::training {

class SoftmaxCrossEntropy {
 public:
  explicit SoftmaxCrossEntropy(kernels::Backend* backend) : backend_(backend) {}

  // Uploads labels for the next compute().
  Status set_labels(const int32_t* labels, int n);
  // Loss summed over the batch and the number of correct arg-maxes. With
  // want_grad, gradient() holds d(mean loss)/d(logits) scaled by grad_scale / n.
  Result<kernels::XentResult> compute(const Tensor& logits, bool want_grad,
                                      float grad_scale = 1.0f);
  const Tensor& gradient() const { return grad_; }

 private:
  kernels::Backend* backend_;
  kernels::Buffer labels_;
  int n_ = 0;
  Tensor grad_;
};

}  // namespace cadre::training

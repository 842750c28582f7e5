// A dense float32 tensor in one backend's memory space (host or device).
// Storage is shared between a tensor and its views, so a model can keep all
// parameters (and all gradients) in one flat buffer — one all-reduce, one
// optimizer kernel, one checkpoint write — while each layer sees its own slices.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/buffer.h"
#include "protocol/status.h"

namespace cadre::training {

using Shape = std::vector<int>;

size_t shape_size(const Shape& shape);
std::string shape_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  // An owning tensor, zero-filled.
  static Result<Tensor> Create(kernels::Backend* backend, Shape shape);
  // A non-owning window of `shape` elements starting at `offset` of base.
  static Tensor View(const Tensor& base, size_t offset, Shape shape);

  // Gives the tensor `shape`, reallocating only when it needs more elements than
  // it has ever held (the last batch of an epoch is smaller; no churn).
  Status ensure(const Shape& shape);

  Status copy_from_host(const float* src, size_t n);
  Result<std::vector<float>> to_host() const;

  float* data() const { return storage_ ? storage_->as<float>() + offset_ : nullptr; }
  const Shape& shape() const { return shape_; }
  int dim(size_t i) const { return shape_[i]; }
  size_t size() const { return shape_size(shape_); }
  kernels::Backend* backend() const { return backend_; }

 private:
  kernels::Backend* backend_ = nullptr;
  std::shared_ptr<kernels::Buffer> storage_;
  size_t offset_ = 0;
  size_t capacity_ = 0;
  bool owning_ = true;
  Shape shape_;
};

}  // namespace cadre::training

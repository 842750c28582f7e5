#include "training/tensor.h"

namespace cadre::training {

size_t shape_size(const Shape& shape) {
  size_t n = 1;
  for (int d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<Tensor> Tensor::Create(kernels::Backend* backend, Shape shape) {
  Tensor t;
  t.backend_ = backend;
  RETURN_IF_ERROR(t.ensure(shape));
  return t;
}

Tensor Tensor::View(const Tensor& base, size_t offset, Shape shape) {
  Tensor t;
  t.backend_ = base.backend_;
  t.storage_ = base.storage_;
  t.offset_ = base.offset_ + offset;
  t.shape_ = std::move(shape);
  t.capacity_ = t.size();
  t.owning_ = false;
  return t;
}

Status Tensor::ensure(const Shape& shape) {
  const size_t need = shape_size(shape);
  if (need > capacity_ || !storage_) {
    if (!owning_)
      return Internal("tensor view of " + std::to_string(capacity_) + " elements cannot grow to " +
                      shape_string(shape));
    ASSIGN_OR_RETURN(auto buffer, kernels::Buffer::Create(backend_, need * sizeof(float)));
    storage_ = std::make_shared<kernels::Buffer>(std::move(buffer));
    capacity_ = need;
    RETURN_IF_ERROR(backend_->fill(data(), 0.0f, need));
  }
  shape_ = shape;
  return Status::Ok();
}

Status Tensor::copy_from_host(const float* src, size_t n) {
  if (n != size())
    return InvalidArgument("copy_from_host: " + std::to_string(n) + " values for tensor " +
                           shape_string(shape_));
  return backend_->copy_from_host(data(), src, n * sizeof(float));
}

Result<std::vector<float>> Tensor::to_host() const {
  std::vector<float> out(size());
  RETURN_IF_ERROR(backend_->copy_to_host(out.data(), data(), out.size() * sizeof(float)));
  return out;
}

}  // namespace cadre::training

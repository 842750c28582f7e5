// RAII ownership of one allocation in a backend's memory space.
#pragma once

#include <cstddef>
#include <utility>

#include "kernels/backend.h"

namespace cadre::kernels {

class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { reset(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      reset();
      backend_ = std::exchange(other.backend_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }

  static Result<Buffer> Create(Backend* backend, size_t bytes) {
    Buffer b;
    b.backend_ = backend;
    b.bytes_ = bytes;
    if (bytes > 0) {
      ASSIGN_OR_RETURN(b.data_, backend->allocate(bytes));
    }
    return b;
  }

  void reset() {
    if (data_ && backend_) backend_->release(data_);
    data_ = nullptr;
    bytes_ = 0;
  }

  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Backend* backend() const { return backend_; }

 private:
  Backend* backend_ = nullptr;
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace cadre::kernels

// The CUDA backend: cuBLAS for GEMMs, own kernels for everything else, on one
// stream per backend. This header stays free of CUDA headers so host code that
// only selects a backend compiles with the plain C++ compiler.
#pragma once

#include <memory>

#include "kernels/backend.h"

namespace cadre::kernels {

// Visible CUDA devices (0 when the driver or a device is missing).
int cuda_device_count();

class CudaBackend final : public Backend {
 public:
  // Fails with Unavailable (naming the CUDA call) when options.cuda_device
  // cannot be used.
  static Result<std::unique_ptr<Backend>> Create(const BackendOptions& options);
  ~CudaBackend() override;

  Device device() const override { return Device::kCuda; }
  int threads() const override { return 1; }

  Result<void*> allocate(size_t bytes) override;
  void release(void* ptr) override;
  Status copy_from_host(void* dst, const void* src, size_t bytes) override;
  Status copy_to_host(void* dst, const void* src, size_t bytes) override;
  Status copy(void* dst, const void* src, size_t bytes) override;
  Status fill(float* dst, float value, size_t n) override;
  Status synchronize() override;

  Status gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
              const float* b, float beta, float* c) override;
  Status axpy(size_t n, float alpha, const float* x, float* y) override;
  Status scale(size_t n, float alpha, float* x) override;

  Status im2col(const ConvShape& s, const float* x, float* col) override;
  Status col2im(const ConvShape& s, const float* col, float* dx) override;
  Status cn_to_nchw(int n, int c, int hw, const float* src, float* dst) override;
  Status nchw_to_cn(int n, int c, int hw, const float* src, float* dst) override;
  Status conv2d_forward(const ConvShape& s, int out_channels, const float* x, const float* w,
                        const float* b, float* y) override;
  Status conv2d_backward(const ConvShape& s, int out_channels, const float* x, const float* w,
                         const float* dy, float* dw, float* db, float* dx) override;
  Status bias_add(int outer, int channels, int inner, const float* bias, float* y) override;
  Status bias_grad(int outer, int channels, int inner, const float* dy, float* db) override;

  Status relu_forward(size_t n, const float* x, float* y) override;
  Status relu_backward(size_t n, const float* y, const float* dy, float* dx) override;
  Status maxpool_forward(const ConvShape& s, const float* x, float* y, int32_t* argmax) override;
  Status maxpool_backward(const ConvShape& s, const float* dy, const int32_t* argmax,
                          float* dx) override;
  Status dropout_forward(size_t n, float p, uint64_t seed, const float* x, float* y,
                         float* mask) override;
  Status multiply(size_t n, const float* x, const float* y, float* z) override;

  Result<XentResult> softmax_cross_entropy(int n, int classes, const float* logits,
                                           const int32_t* labels, float grad_scale,
                                           float* dlogits) override;

  Status sgd_momentum_update(size_t n, float lr, float momentum, float weight_decay,
                             const float* grad, float* velocity, float* param) override;
  Status adam_update(size_t n, float lr, float beta1, float beta2, float eps, int64_t t,
                     const float* grad, float* m, float* v, float* param) override;

 private:
  CudaBackend() = default;
  // Device scratch that grows on demand (conv columns, loss partials).
  Result<float*> workspace(int slot, size_t floats);

  struct Impl;  // stream, cuBLAS handle, workspaces (cuda_backend.cu)
  std::unique_ptr<Impl> impl_;
};

}  // namespace cadre::kernels

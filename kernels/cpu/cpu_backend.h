// The CPU backend: OpenBLAS for GEMM, OpenMP-parallel loops written so that g++
// vectorises their inner dimension. Thread count comes from BackendOptions and is
// applied to both OpenBLAS and our own loops.
#pragma once

#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/thread_pool.h"

namespace cadre::kernels {

class CpuBackend final : public Backend {
 public:
  // direct_conv: use the AVX-512 direct convolution where it applies.
  CpuBackend(int threads, bool direct_conv);
  ~CpuBackend() override;

  Device device() const override { return Device::kCpu; }
  int threads() const override { return threads_; }

  Result<void*> allocate(size_t bytes) override;
  void release(void* ptr) override;
  Status copy_from_host(void* dst, const void* src, size_t bytes) override;
  Status copy_to_host(void* dst, const void* src, size_t bytes) override;
  Status copy(void* dst, const void* src, size_t bytes) override;
  Status fill(float* dst, float value, size_t n) override;
  Status synchronize() override { return Status::Ok(); }

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
  // Runs body(lo, hi) over [0, n) on the pool when `work` is worth a fork-join.
  template <typename F>
  void parallel(size_t n, size_t work, F&& body);

  // Per-thread convolution scratch, grown on demand (cpu_conv.cc): columns and
  // partial weight gradients for im2col + GEMM; padded images, pixel-major dy,
  // a row tile and packed weight gradients for the direct kernels.
  struct ConvScratch {
    std::vector<float> col, cn, dcol, dw;
    std::vector<float> padded, pixel_major, padded_dy, tile, packed_dw;
  };

  bool use_direct_conv(const ConvShape& s) const;
  Status direct_conv2d_forward(const ConvShape& s, int out_channels, const float* x, const float* w,
                               const float* b, float* y);
  Status direct_conv2d_backward(const ConvShape& s, int out_channels, const float* x,
                                const float* w, const float* dy, float* dw, float* dx);

  int threads_;
  bool direct_conv_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<ConvScratch> scratch_;
  // Weights and bias repacked once per call for the direct kernels, shared
  // read-only by the threads.
  std::vector<float> packed_w_, packed_bias_;
};

}  // namespace cadre::kernels

// One interface for every numeric kernel the training engine and the serving
// runtime need. A CPU implementation (OpenBLAS GEMM plus own loops) and a CUDA
// implementation (cuBLAS plus own kernels) sit behind it, chosen at run time by
// create_backend(). Every pointer is in the backend's own memory space; callers
// move data across with copy_from_host / copy_to_host.
//
// Layouts are row-major; images are NCHW. Kernels return Status so that a CUDA
// launch failure reaches the caller as a value, never as an abort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/device.h"
#include "protocol/status.h"

// ConvShape's helpers run in CUDA kernels too.
#ifdef __CUDACC__
#define CADRE_HOST_DEVICE __host__ __device__
#else
#define CADRE_HOST_DEVICE
#endif

namespace cadre::kernels {

struct BackendOptions {
  Device device = Device::kCpu;
  // CPU threads for GEMM and own loops; 0 means "all cores".
  int threads = 1;
  // CUDA device ordinal within CUDA_VISIBLE_DEVICES.
  int cuda_device = 0;
  // CPU: stride-1 convolutions run the AVX-512 direct kernels when the CPU has
  // AVX-512 (kernels/cpu/direct_conv.h); false keeps im2col + GEMM everywhere.
  bool cpu_direct_conv = true;
};

// Shape of a 2-D convolution or pooling window over an NCHW batch.
struct ConvShape {
  int batch = 1;
  int channels = 1;
  int height = 1;
  int width = 1;
  int kernel_h = 1;
  int kernel_w = 1;
  int pad = 0;
  int stride = 1;
  CADRE_HOST_DEVICE int out_height() const { return (height + 2 * pad - kernel_h) / stride + 1; }
  CADRE_HOST_DEVICE int out_width() const { return (width + 2 * pad - kernel_w) / stride + 1; }
};

// What softmax_cross_entropy reports to the host: summed loss over the batch and
// how many rows had the label as their arg-max.
struct XentResult {
  double loss_sum = 0;
  int64_t correct = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual int threads() const = 0;

  // ---- memory -------------------------------------------------------------
  virtual Result<void*> allocate(size_t bytes) = 0;
  virtual void release(void* ptr) = 0;
  virtual Status copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual Status copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual Status copy(void* dst, const void* src, size_t bytes) = 0;
  virtual Status fill(float* dst, float value, size_t n) = 0;
  // Waits until every kernel issued so far has finished (no-op on CPU).
  virtual Status synchronize() = 0;

  // ---- linear algebra -----------------------------------------------------
  // C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major and dense.
  virtual Status gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                      const float* b, float beta, float* c) = 0;
  // y += alpha * x
  virtual Status axpy(size_t n, float alpha, const float* x, float* y) = 0;
  // x *= alpha
  virtual Status scale(size_t n, float alpha, float* x) = 0;

  // ---- convolution helpers ------------------------------------------------
  // col[C*kh*kw, N*OH*OW]: one column per output pixel of every image, so that a
  // whole batch convolves with a single GEMM.
  virtual Status im2col(const ConvShape& s, const float* x, float* col) = 0;
  // Inverse scatter of im2col: dx (overwritten) accumulates every column entry.
  virtual Status col2im(const ConvShape& s, const float* col, float* dx) = 0;
  // [C, N*HW] <-> [N, C, HW]: the GEMM output is channel-major, layers are NCHW.
  virtual Status cn_to_nchw(int n, int c, int hw, const float* src, float* dst) = 0;
  virtual Status nchw_to_cn(int n, int c, int hw, const float* src, float* dst) = 0;

  // Fused convolution of a whole batch: y[N, OC, OH, OW] = conv(x, w) + b with
  // w [OC, C, kh, kw]. Backends choose how to tile it (CPU: image groups whose
  // columns stay in cache, one thread each).
  virtual Status conv2d_forward(const ConvShape& s, int out_channels, const float* x,
                                const float* w, const float* b, float* y) = 0;
  // Overwrites dw and db; dx too unless it is null (a first layer needs none).
  virtual Status conv2d_backward(const ConvShape& s, int out_channels, const float* x,
                                 const float* w, const float* dy, float* dw, float* db,
                                 float* dx) = 0;

  // y[o, c, i] += bias[c] for a tensor viewed as [outer, channels, inner].
  virtual Status bias_add(int outer, int channels, int inner, const float* bias, float* y) = 0;
  // db[c] = sum over o, i of dy[o, c, i] (overwrites db).
  virtual Status bias_grad(int outer, int channels, int inner, const float* dy, float* db) = 0;

  // ---- element-wise and pooling ---------------------------------------------
  virtual Status relu_forward(size_t n, const float* x, float* y) = 0;
  // dx = dy where y > 0, else 0.
  virtual Status relu_backward(size_t n, const float* y, const float* dy, float* dx) = 0;
  // Max over each window; argmax holds the flat input index chosen per output.
  virtual Status maxpool_forward(const ConvShape& s, const float* x, float* y, int32_t* argmax) = 0;
  // dx (overwritten, input-sized) receives dy at each recorded argmax.
  virtual Status maxpool_backward(const ConvShape& s, const float* dy, const int32_t* argmax,
                                  float* dx) = 0;
  // Inverted dropout: mask[i] = keep ? 1/(1-p) : 0 from a counter-based hash of
  // (seed, i), so CPU and CUDA draw the same mask; y = x * mask.
  virtual Status dropout_forward(size_t n, float p, uint64_t seed, const float* x, float* y,
                                 float* mask) = 0;
  // z = x * y element-wise.
  virtual Status multiply(size_t n, const float* x, const float* y, float* z) = 0;

  // ---- loss -----------------------------------------------------------------
  // Row-wise softmax of logits[n, classes] with cross-entropy against labels.
  // When dlogits is non-null it receives (softmax - onehot) * grad_scale.
  virtual Result<XentResult> softmax_cross_entropy(int n, int classes, const float* logits,
                                                   const int32_t* labels, float grad_scale,
                                                   float* dlogits) = 0;

  // ---- optimizers -----------------------------------------------------------
  // v = momentum * v + (g + wd * w); w -= lr * v   (PyTorch's SGD formulation).
  virtual Status sgd_momentum_update(size_t n, float lr, float momentum, float weight_decay,
                                     const float* grad, float* velocity, float* param) = 0;
  // Adam (Kingma & Ba 2015, Algorithm 1) with bias correction for step t >= 1.
  virtual Status adam_update(size_t n, float lr, float beta1, float beta2, float eps, int64_t t,
                             const float* grad, float* m, float* v, float* param) = 0;
};

// The backend for options.device; kCuda fails with Unavailable when the binary
// has no CUDA support or no device is visible.
Result<std::unique_ptr<Backend>> create_backend(const BackendOptions& options);

// Counter-based hash shared by the CPU and CUDA dropout kernels (splitmix64).
inline uint64_t dropout_hash(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace cadre::kernels

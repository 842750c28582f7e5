#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_checks.h"

namespace cadre::kernels {
namespace {

constexpr int kThreads = 256;
inline unsigned blocks_for(size_t n) {
  return static_cast<unsigned>(std::min<size_t>((n + kThreads - 1) / kThreads, 65535u * 16));
}
// Grid-stride loop: any n with a bounded grid.
#define GRID_LOOP(i, n)                                                                \
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<size_t>(blockDim.x) * gridDim.x)

__device__ inline uint64_t device_dropout_hash(uint64_t seed, uint64_t index) {
  // Same splitmix64 as kernels/backend.h dropout_hash(): identical masks.
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__global__ void fill_kernel(float* x, float v, size_t n) { GRID_LOOP(i, n) x[i] = v; }
__global__ void axpy_kernel(size_t n, float a, const float* x, float* y) {
  GRID_LOOP(i, n) y[i] += a * x[i];
}
__global__ void scale_kernel(size_t n, float a, float* x) { GRID_LOOP(i, n) x[i] *= a; }
__global__ void relu_kernel(size_t n, const float* x, float* y) {
  GRID_LOOP(i, n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
__global__ void relu_backward_kernel(size_t n, const float* y, const float* dy, float* dx) {
  GRID_LOOP(i, n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
__global__ void multiply_kernel(size_t n, const float* x, const float* y, float* z) {
  GRID_LOOP(i, n) z[i] = x[i] * y[i];
}
__global__ void dropout_kernel(size_t n, uint64_t threshold, float keep_scale, uint64_t seed,
                               const float* x, float* y, float* mask) {
  GRID_LOOP(i, n) {
    const uint64_t r = device_dropout_hash(seed, i) >> 40;
    mask[i] = r >= threshold ? keep_scale : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

__global__ void im2col_kernel(ConvShape s, const float* x, float* col) {
  const int oh = s.out_height(), ow = s.out_width();
  const size_t cols = static_cast<size_t>(oh) * ow * s.batch;
  const size_t total = cols * s.channels * s.kernel_h * s.kernel_w;
  GRID_LOOP(i, total) {
    const size_t r = i / cols, j = i % cols;
    const int kj = r % s.kernel_w, ki = (r / s.kernel_w) % s.kernel_h;
    const int c = r / (s.kernel_w * s.kernel_h);
    const int b = j / (oh * ow), pix = j % (oh * ow);
    const int iy = (pix / ow) * s.stride - s.pad + ki, ix = (pix % ow) * s.stride - s.pad + kj;
    col[i] = (iy >= 0 && iy < s.height && ix >= 0 && ix < s.width)
                 ? x[((static_cast<size_t>(b) * s.channels + c) * s.height + iy) * s.width + ix]
                 : 0.0f;
  }
}

// Gather form of col2im: one thread per input element sums every column entry
// that read it, so no atomics are needed.
__global__ void col2im_kernel(ConvShape s, const float* col, float* dx) {
  const int oh = s.out_height(), ow = s.out_width();
  const size_t cols = static_cast<size_t>(oh) * ow * s.batch;
  const size_t total = static_cast<size_t>(s.batch) * s.channels * s.height * s.width;
  GRID_LOOP(i, total) {
    const int xw = i % s.width, yh = (i / s.width) % s.height;
    const int c = (i / (static_cast<size_t>(s.width) * s.height)) % s.channels;
    const int b = i / (static_cast<size_t>(s.width) * s.height * s.channels);
    float sum = 0.0f;
    for (int ki = 0; ki < s.kernel_h; ++ki) {
      const int ty = yh + s.pad - ki;
      if (ty < 0 || ty % s.stride) continue;
      const int yo = ty / s.stride;
      if (yo >= oh) continue;
      for (int kj = 0; kj < s.kernel_w; ++kj) {
        const int tx = xw + s.pad - kj;
        if (tx < 0 || tx % s.stride) continue;
        const int xo = tx / s.stride;
        if (xo >= ow) continue;
        const size_t r = (static_cast<size_t>(c) * s.kernel_h + ki) * s.kernel_w + kj;
        sum += col[r * cols + static_cast<size_t>(b) * oh * ow + yo * ow + xo];
      }
    }
    dx[i] = sum;
  }
}

__global__ void cn_to_nchw_kernel(int n, int c, int hw, const float* src, float* dst) {
  const size_t total = static_cast<size_t>(n) * c * hw;
  GRID_LOOP(i, total) {
    const int p = i % hw, ch = (i / hw) % c, b = i / (static_cast<size_t>(hw) * c);
    dst[i] = src[static_cast<size_t>(ch) * n * hw + static_cast<size_t>(b) * hw + p];
  }
}
__global__ void nchw_to_cn_kernel(int n, int c, int hw, const float* src, float* dst) {
  const size_t total = static_cast<size_t>(n) * c * hw;
  GRID_LOOP(i, total) {
    const int p = i % hw, ch = (i / hw) % c, b = i / (static_cast<size_t>(hw) * c);
    dst[static_cast<size_t>(ch) * n * hw + static_cast<size_t>(b) * hw + p] = src[i];
  }
}
__global__ void bias_add_kernel(int outer, int channels, int inner, const float* bias, float* y) {
  const size_t total = static_cast<size_t>(outer) * channels * inner;
  GRID_LOOP(i, total) y[i] += bias[(i / inner) % channels];
}
// One block per channel: a shared-memory tree reduction over outer x inner.
__global__ void bias_grad_kernel(int outer, int channels, int inner, const float* dy, float* db) {
  __shared__ float partial[kThreads];
  const int c = blockIdx.x;
  float sum = 0.0f;
  const size_t per = static_cast<size_t>(outer) * inner;
  for (size_t k = threadIdx.x; k < per; k += blockDim.x) {
    const size_t o = k / inner, in = k % inner;
    sum += dy[(o * channels + c) * inner + in];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[c] = partial[0];
}

__global__ void maxpool_kernel(ConvShape s, const float* x, float* y, int32_t* argmax) {
  const int oh = s.out_height(), ow = s.out_width();
  const size_t total = static_cast<size_t>(s.batch) * s.channels * oh * ow;
  GRID_LOOP(i, total) {
    const size_t plane = i / (static_cast<size_t>(oh) * ow);
    const int yo = (i / ow) % oh, xo = i % ow;
    const size_t base = plane * s.height * s.width;
    float best = -INFINITY;
    int best_idx = -1;
    for (int ki = 0; ki < s.kernel_h; ++ki) {
      const int iy = yo * s.stride - s.pad + ki;
      if (iy < 0 || iy >= s.height) continue;
      for (int kj = 0; kj < s.kernel_w; ++kj) {
        const int ix = xo * s.stride - s.pad + kj;
        if (ix < 0 || ix >= s.width) continue;
        const float v = x[base + iy * s.width + ix];
        if (v > best || best_idx < 0) best = v, best_idx = iy * s.width + ix;
      }
    }
    y[i] = best;
    argmax[i] = static_cast<int32_t>(base + best_idx);
  }
}
__global__ void maxpool_backward_kernel(size_t n, const float* dy, const int32_t* argmax,
                                        float* dx) {
  // Overlapping windows may pick the same input: accumulate atomically.
  GRID_LOOP(i, n) atomicAdd(dx + argmax[i], dy[i]);
}

// One thread per row (class counts are small); per-row loss and hit go to
// scratch and are summed on the host in double, as the CPU path does.
__global__ void xent_kernel(int n, int classes, const float* logits, const int32_t* labels,
                            float grad_scale, float* dlogits, float* row_loss, float* row_hit) {
  GRID_LOOP(i, static_cast<size_t>(n)) {
    const float* row = logits + i * classes;
    int best = 0;
    float mx = row[0];
    for (int c = 1; c < classes; ++c)
      if (row[c] > mx) mx = row[c], best = c;
    float sum = 0.0f;
    for (int c = 0; c < classes; ++c) sum += expf(row[c] - mx);
    const float log_z = logf(sum) + mx;
    const int label = labels[i];
    row_loss[i] = log_z - row[label];
    row_hit[i] = best == label ? 1.0f : 0.0f;
    if (dlogits)
      for (int c = 0; c < classes; ++c)
        dlogits[i * classes + c] = (expf(row[c] - log_z) - (c == label ? 1.0f : 0.0f)) * grad_scale;
  }
}

__global__ void sgd_kernel(size_t n, float lr, float momentum, float wd, const float* g, float* v,
                           float* w) {
  GRID_LOOP(i, n) {
    const float gi = g[i] + wd * w[i];
    v[i] = momentum * v[i] + gi;
    w[i] -= lr * v[i];
  }
}
__global__ void adam_kernel(size_t n, float step, float inv_sqrt_c2, float b1, float b2, float eps,
                            const float* g, float* m, float* v, float* w) {
  GRID_LOOP(i, n) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    w[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_c2 + eps);
  }
}

}  // namespace

struct CudaBackend::Impl {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  std::vector<std::pair<float*, size_t>> workspaces;  // slot -> (pointer, floats)
};

int cuda_device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

Result<std::unique_ptr<Backend>> CudaBackend::Create(const BackendOptions& options) {
  const int count = cuda_device_count();
  if (count == 0) return Unavailable("device cuda: no CUDA device is visible");
  if (options.cuda_device < 0 || options.cuda_device >= count)
    return InvalidArgument("cuda device " + std::to_string(options.cuda_device) + " outside the " +
                           std::to_string(count) + " visible devices");
  auto b = std::unique_ptr<CudaBackend>(new CudaBackend());
  b->impl_ = std::make_unique<Impl>();
  b->impl_->device = options.cuda_device;
  CUDACHECK(cudaSetDevice(options.cuda_device));
  CUDACHECK(cudaStreamCreateWithFlags(&b->impl_->stream, cudaStreamNonBlocking));
  CUBLASCHECK(cublasCreate(&b->impl_->blas));
  CUBLASCHECK(cublasSetStream(b->impl_->blas, b->impl_->stream));
  // Plain fp32 GEMMs: the CUDA path must match the CPU path to 1e-4.
  CUBLASCHECK(cublasSetMathMode(b->impl_->blas, CUBLAS_PEDANTIC_MATH));
  return std::unique_ptr<Backend>(std::move(b));
}

CudaBackend::~CudaBackend() {
  if (!impl_) return;
  for (auto& [p, n] : impl_->workspaces) cudaFree(p);
  if (impl_->blas) cublasDestroy(impl_->blas);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

Result<float*> CudaBackend::workspace(int slot, size_t floats) {
  auto& ws = impl_->workspaces;
  if (ws.size() <= static_cast<size_t>(slot)) ws.resize(slot + 1, {nullptr, 0});
  if (ws[slot].second < floats) {
    if (ws[slot].first) CUDACHECK(cudaFree(ws[slot].first));
    ws[slot] = {nullptr, 0};
    CUDACHECK(cudaMalloc(&ws[slot].first, floats * sizeof(float)));
    ws[slot].second = floats;
  }
  return ws[slot].first;
}

Result<void*> CudaBackend::allocate(size_t bytes) {
  void* p = nullptr;
  CUDACHECK(cudaMalloc(&p, bytes == 0 ? 4 : bytes));
  return p;
}
void CudaBackend::release(void* ptr) { cudaFree(ptr); }
Status CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  CUDACHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, impl_->stream));
  // The host buffer may be reused right after return: wait for the copy.
  CUDACHECK(cudaStreamSynchronize(impl_->stream));
  return Status::Ok();
}
Status CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  CUDACHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, impl_->stream));
  CUDACHECK(cudaStreamSynchronize(impl_->stream));
  return Status::Ok();
}
Status CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes && dst != src)
    CUDACHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, impl_->stream));
  return Status::Ok();
}
Status CudaBackend::fill(float* dst, float value, size_t n) {
  if (n == 0) return Status::Ok();
  fill_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(dst, value, n);
  LAUNCHCHECK("fill_kernel");
  return Status::Ok();
}
Status CudaBackend::synchronize() {
  CUDACHECK(cudaStreamSynchronize(impl_->stream));
  return Status::Ok();
}

Status CudaBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                         const float* a, const float* b, float beta, float* c) {
  if (m <= 0 || n <= 0) return Status::Ok();
  if (k <= 0) return scale(static_cast<size_t>(m) * n, beta, c);
  // cuBLAS is column-major: a row-major C = op(A) op(B) is C^T = op(B)^T op(A)^T.
  const int lda = trans_a ? m : k, ldb = trans_b ? k : n;
  CUBLASCHECK(cublasSgemm(impl_->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                          trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a, lda,
                          &beta, c, n));
  return Status::Ok();
}
Status CudaBackend::axpy(size_t n, float alpha, const float* x, float* y) {
  if (n == 0) return Status::Ok();
  axpy_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, alpha, x, y);
  LAUNCHCHECK("axpy_kernel");
  return Status::Ok();
}
Status CudaBackend::scale(size_t n, float alpha, float* x) {
  if (n == 0) return Status::Ok();
  if (alpha == 0.0f) return fill(x, 0.0f, n);
  scale_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, alpha, x);
  LAUNCHCHECK("scale_kernel");
  return Status::Ok();
}

Status CudaBackend::im2col(const ConvShape& s, const float* x, float* col) {
  const size_t total = static_cast<size_t>(s.channels) * s.kernel_h * s.kernel_w * s.batch *
                       s.out_height() * s.out_width();
  if (total == 0) return Status::Ok();
  im2col_kernel<<<blocks_for(total), kThreads, 0, impl_->stream>>>(s, x, col);
  LAUNCHCHECK("im2col_kernel");
  return Status::Ok();
}
Status CudaBackend::col2im(const ConvShape& s, const float* col, float* dx) {
  const size_t total = static_cast<size_t>(s.batch) * s.channels * s.height * s.width;
  if (total == 0) return Status::Ok();
  col2im_kernel<<<blocks_for(total), kThreads, 0, impl_->stream>>>(s, col, dx);
  LAUNCHCHECK("col2im_kernel");
  return Status::Ok();
}
Status CudaBackend::cn_to_nchw(int n, int c, int hw, const float* src, float* dst) {
  const size_t total = static_cast<size_t>(n) * c * hw;
  if (total == 0) return Status::Ok();
  cn_to_nchw_kernel<<<blocks_for(total), kThreads, 0, impl_->stream>>>(n, c, hw, src, dst);
  LAUNCHCHECK("cn_to_nchw_kernel");
  return Status::Ok();
}
Status CudaBackend::nchw_to_cn(int n, int c, int hw, const float* src, float* dst) {
  const size_t total = static_cast<size_t>(n) * c * hw;
  if (total == 0) return Status::Ok();
  nchw_to_cn_kernel<<<blocks_for(total), kThreads, 0, impl_->stream>>>(n, c, hw, src, dst);
  LAUNCHCHECK("nchw_to_cn_kernel");
  return Status::Ok();
}

Status CudaBackend::conv2d_forward(const ConvShape& s, int out_channels, const float* x,
                                   const float* w, const float* b, float* y) {
  // Whole batch at once: GPU memory is plentiful and one large GEMM keeps the
  // device busy (the CPU path tiles for cache instead).
  const int rows = s.channels * s.kernel_h * s.kernel_w;
  const int hw = s.out_height() * s.out_width(), cols = s.batch * hw;
  ASSIGN_OR_RETURN(float* col, workspace(0, static_cast<size_t>(rows) * cols));
  ASSIGN_OR_RETURN(float* cn, workspace(1, static_cast<size_t>(out_channels) * cols));
  RETURN_IF_ERROR(im2col(s, x, col));
  RETURN_IF_ERROR(gemm(false, false, out_channels, cols, rows, 1.0f, w, col, 0.0f, cn));
  RETURN_IF_ERROR(bias_add(1, out_channels, cols, b, cn));
  return cn_to_nchw(s.batch, out_channels, hw, cn, y);
}

Status CudaBackend::conv2d_backward(const ConvShape& s, int out_channels, const float* x,
                                    const float* w, const float* dy, float* dw, float* db,
                                    float* dx) {
  const int rows = s.channels * s.kernel_h * s.kernel_w;
  const int hw = s.out_height() * s.out_width(), cols = s.batch * hw;
  ASSIGN_OR_RETURN(float* col, workspace(0, static_cast<size_t>(rows) * cols));
  ASSIGN_OR_RETURN(float* cn, workspace(1, static_cast<size_t>(out_channels) * cols));
  RETURN_IF_ERROR(bias_grad(s.batch, out_channels, hw, dy, db));
  RETURN_IF_ERROR(im2col(s, x, col));
  RETURN_IF_ERROR(nchw_to_cn(s.batch, out_channels, hw, dy, cn));
  RETURN_IF_ERROR(gemm(false, true, out_channels, rows, cols, 1.0f, cn, col, 0.0f, dw));
  if (!dx) return Status::Ok();
  ASSIGN_OR_RETURN(float* dcol, workspace(2, static_cast<size_t>(rows) * cols));
  RETURN_IF_ERROR(gemm(true, false, rows, cols, out_channels, 1.0f, w, cn, 0.0f, dcol));
  return col2im(s, dcol, dx);
}

Status CudaBackend::bias_add(int outer, int channels, int inner, const float* bias, float* y) {
  const size_t total = static_cast<size_t>(outer) * channels * inner;
  if (total == 0) return Status::Ok();
  bias_add_kernel<<<blocks_for(total), kThreads, 0, impl_->stream>>>(outer, channels, inner, bias,
                                                                     y);
  LAUNCHCHECK("bias_add_kernel");
  return Status::Ok();
}
Status CudaBackend::bias_grad(int outer, int channels, int inner, const float* dy, float* db) {
  if (channels == 0) return Status::Ok();
  bias_grad_kernel<<<channels, kThreads, 0, impl_->stream>>>(outer, channels, inner, dy, db);
  LAUNCHCHECK("bias_grad_kernel");
  return Status::Ok();
}

Status CudaBackend::relu_forward(size_t n, const float* x, float* y) {
  if (n == 0) return Status::Ok();
  relu_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, x, y);
  LAUNCHCHECK("relu_kernel");
  return Status::Ok();
}
Status CudaBackend::relu_backward(size_t n, const float* y, const float* dy, float* dx) {
  if (n == 0) return Status::Ok();
  relu_backward_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, y, dy, dx);
  LAUNCHCHECK("relu_backward_kernel");
  return Status::Ok();
}
Status CudaBackend::maxpool_forward(const ConvShape& s, const float* x, float* y, int32_t* argmax) {
  const size_t total = static_cast<size_t>(s.batch) * s.channels * s.out_height() * s.out_width();
  if (total == 0) return Status::Ok();
  maxpool_kernel<<<blocks_for(total), kThreads, 0, impl_->stream>>>(s, x, y, argmax);
  LAUNCHCHECK("maxpool_kernel");
  return Status::Ok();
}
Status CudaBackend::maxpool_backward(const ConvShape& s, const float* dy, const int32_t* argmax,
                                     float* dx) {
  RETURN_IF_ERROR(fill(dx, 0.0f, static_cast<size_t>(s.batch) * s.channels * s.height * s.width));
  const size_t total = static_cast<size_t>(s.batch) * s.channels * s.out_height() * s.out_width();
  if (total == 0) return Status::Ok();
  maxpool_backward_kernel<<<blocks_for(total), kThreads, 0, impl_->stream>>>(total, dy, argmax, dx);
  LAUNCHCHECK("maxpool_backward_kernel");
  return Status::Ok();
}
Status CudaBackend::dropout_forward(size_t n, float p, uint64_t seed, const float* x, float* y,
                                    float* mask) {
  if (n == 0) return Status::Ok();
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * (1u << 24));
  dropout_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, threshold, keep_scale, seed, x,
                                                                y, mask);
  LAUNCHCHECK("dropout_kernel");
  return Status::Ok();
}
Status CudaBackend::multiply(size_t n, const float* x, const float* y, float* z) {
  if (n == 0) return Status::Ok();
  multiply_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, x, y, z);
  LAUNCHCHECK("multiply_kernel");
  return Status::Ok();
}

Result<XentResult> CudaBackend::softmax_cross_entropy(int n, int classes, const float* logits,
                                                      const int32_t* labels, float grad_scale,
                                                      float* dlogits) {
  if (n == 0) return XentResult{};
  std::vector<int32_t> host_labels(n);
  RETURN_IF_ERROR(copy_to_host(host_labels.data(), labels, n * sizeof(int32_t)));
  for (int i = 0; i < n; ++i)
    if (host_labels[i] < 0 || host_labels[i] >= classes)
      return InvalidArgument("softmax_cross_entropy: label " + std::to_string(host_labels[i]) +
                             " at row " + std::to_string(i) + " is outside [0, " +
                             std::to_string(classes) + ")");
  ASSIGN_OR_RETURN(float* rows, workspace(3, 2 * static_cast<size_t>(n)));
  xent_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, classes, logits, labels, grad_scale,
                                                             dlogits, rows, rows + n);
  LAUNCHCHECK("xent_kernel");
  std::vector<float> host(2 * static_cast<size_t>(n));
  RETURN_IF_ERROR(copy_to_host(host.data(), rows, host.size() * sizeof(float)));
  XentResult r;
  for (int i = 0; i < n; ++i) r.loss_sum += host[i], r.correct += host[n + i] > 0.5f;
  return r;
}

Status CudaBackend::sgd_momentum_update(size_t n, float lr, float momentum, float weight_decay,
                                        const float* grad, float* velocity, float* param) {
  if (n == 0) return Status::Ok();
  sgd_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, lr, momentum, weight_decay, grad,
                                                            velocity, param);
  LAUNCHCHECK("sgd_kernel");
  return Status::Ok();
}
Status CudaBackend::adam_update(size_t n, float lr, float beta1, float beta2, float eps, int64_t t,
                                const float* grad, float* m, float* v, float* param) {
  if (n == 0) return Status::Ok();
  const float c1 = 1.0f - static_cast<float>(std::pow(beta1, static_cast<double>(t)));
  const float c2 = 1.0f - static_cast<float>(std::pow(beta2, static_cast<double>(t)));
  adam_kernel<<<blocks_for(n), kThreads, 0, impl_->stream>>>(n, lr / c1, 1.0f / std::sqrt(c2),
                                                             beta1, beta2, eps, grad, m, v, param);
  LAUNCHCHECK("adam_kernel");
  return Status::Ok();
}

}  // namespace cadre::kernels

#include "kernels/cpu/cpu_backend.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>

namespace cadre::kernels {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr size_t kParallelThreshold = 1 << 15;

}  // namespace

CpuBackend::CpuBackend(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads_ = threads;
  // OpenBLAS keeps one process-wide pool; the backend is created once per process.
  openblas_set_num_threads(threads_);
  omp_set_num_threads(threads_);
}

Result<void*> CpuBackend::allocate(size_t bytes) {
  // 64-byte alignment keeps AVX-512 loads aligned and avoids false sharing.
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!p) return Internal("cpu allocate: out of memory for " + std::to_string(bytes) + " bytes");
  return p;
}

void CpuBackend::release(void* ptr) { std::free(ptr); }

Status CpuBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
  return Status::Ok();
}
Status CpuBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
  return Status::Ok();
}
Status CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes && dst != src) std::memmove(dst, src, bytes);
  return Status::Ok();
}
Status CpuBackend::fill(float* dst, float value, size_t n) {
  std::fill(dst, dst + n, value);
  return Status::Ok();
}

Status CpuBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                        const float* a, const float* b, float beta, float* c) {
  if (m <= 0 || n <= 0) return Status::Ok();
  if (k <= 0) return scale(static_cast<size_t>(m) * n, beta, c);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, trans_a ? m : k, b,
              trans_b ? k : n, beta, c, n);
  return Status::Ok();
}

Status CpuBackend::axpy(size_t n, float alpha, const float* x, float* y) {
#pragma omp parallel for simd num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) y[i] += alpha * x[i];
  return Status::Ok();
}

Status CpuBackend::scale(size_t n, float alpha, float* x) {
  if (alpha == 0.0f) return fill(x, 0.0f, n);  // beta = 0 must also clear NaNs
#pragma omp parallel for simd num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) x[i] *= alpha;
  return Status::Ok();
}

Status CpuBackend::im2col(const ConvShape& s, const float* x, float* col) {
  const int oh = s.out_height(), ow = s.out_width();
  const size_t ohw = static_cast<size_t>(oh) * ow;
  const size_t cols = ohw * s.batch;
  const int rows = s.channels * s.kernel_h * s.kernel_w;
  // Each row (channel, ki, kj) is independent: parallelise over rows.
#pragma omp parallel for num_threads(threads_) if (cols * rows > kParallelThreshold)
  for (int r = 0; r < rows; ++r) {
    const int kj = r % s.kernel_w;
    const int ki = (r / s.kernel_w) % s.kernel_h;
    const int c = r / (s.kernel_w * s.kernel_h);
    float* out_row = col + static_cast<size_t>(r) * cols;
    for (int b = 0; b < s.batch; ++b) {
      const float* plane = x + (static_cast<size_t>(b) * s.channels + c) * s.height * s.width;
      float* out = out_row + b * ohw;
      for (int y = 0; y < oh; ++y) {
        const int iy = y * s.stride - s.pad + ki;
        float* dst = out + static_cast<size_t>(y) * ow;
        if (iy < 0 || iy >= s.height) {
          std::fill(dst, dst + ow, 0.0f);
          continue;
        }
        const float* src = plane + static_cast<size_t>(iy) * s.width;
        if (s.stride == 1) {
          // Valid output range where 0 <= x - pad + kj < width.
          const int lo = std::max(0, s.pad - kj);
          const int hi = std::min(ow, s.width + s.pad - kj);
          for (int xo = 0; xo < lo; ++xo) dst[xo] = 0.0f;
          if (hi > lo) std::memcpy(dst + lo, src + lo - s.pad + kj, sizeof(float) * (hi - lo));
          for (int xo = std::max(hi, lo); xo < ow; ++xo) dst[xo] = 0.0f;
        } else {
          for (int xo = 0; xo < ow; ++xo) {
            const int ix = xo * s.stride - s.pad + kj;
            dst[xo] = (ix >= 0 && ix < s.width) ? src[ix] : 0.0f;
          }
        }
      }
    }
  }
  return Status::Ok();
}

Status CpuBackend::col2im(const ConvShape& s, const float* col, float* dx) {
  const int oh = s.out_height(), ow = s.out_width();
  const size_t ohw = static_cast<size_t>(oh) * ow;
  const size_t cols = ohw * s.batch;
  const size_t plane_size = static_cast<size_t>(s.height) * s.width;
  // Parallel over channels: every (batch, channel) plane of dx is written by
  // exactly one thread, so the scatter needs no atomics.
#pragma omp parallel for num_threads(threads_) if (cols * s.channels > kParallelThreshold)
  for (int c = 0; c < s.channels; ++c) {
    for (int b = 0; b < s.batch; ++b) {
      float* plane = dx + (static_cast<size_t>(b) * s.channels + c) * plane_size;
      std::fill(plane, plane + plane_size, 0.0f);
    }
    for (int ki = 0; ki < s.kernel_h; ++ki) {
      for (int kj = 0; kj < s.kernel_w; ++kj) {
        const size_t r = (static_cast<size_t>(c) * s.kernel_h + ki) * s.kernel_w + kj;
        const float* in_row = col + r * cols;
        for (int b = 0; b < s.batch; ++b) {
          float* plane = dx + (static_cast<size_t>(b) * s.channels + c) * plane_size;
          const float* src_img = in_row + b * ohw;
          for (int y = 0; y < oh; ++y) {
            const int iy = y * s.stride - s.pad + ki;
            if (iy < 0 || iy >= s.height) continue;
            const float* src = src_img + static_cast<size_t>(y) * ow;
            float* dst = plane + static_cast<size_t>(iy) * s.width;
            if (s.stride == 1) {
              const int lo = std::max(0, s.pad - kj);
              const int hi = std::min(ow, s.width + s.pad - kj);
              float* d = dst - s.pad + kj;
#pragma omp simd
              for (int xo = lo; xo < hi; ++xo) d[xo] += src[xo];
            } else {
              for (int xo = 0; xo < ow; ++xo) {
                const int ix = xo * s.stride - s.pad + kj;
                if (ix >= 0 && ix < s.width) dst[ix] += src[xo];
              }
            }
          }
        }
      }
    }
  }
  return Status::Ok();
}

Status CpuBackend::cn_to_nchw(int n, int c, int hw, const float* src, float* dst) {
  const size_t nhw = static_cast<size_t>(n) * hw;
#pragma omp parallel for collapse(2) num_threads(threads_) if (nhw * c > kParallelThreshold)
  for (int b = 0; b < n; ++b)
    for (int ch = 0; ch < c; ++ch)
      std::memcpy(dst + (static_cast<size_t>(b) * c + ch) * hw,
                  src + ch * nhw + static_cast<size_t>(b) * hw, sizeof(float) * hw);
  return Status::Ok();
}

Status CpuBackend::nchw_to_cn(int n, int c, int hw, const float* src, float* dst) {
  const size_t nhw = static_cast<size_t>(n) * hw;
#pragma omp parallel for collapse(2) num_threads(threads_) if (nhw * c > kParallelThreshold)
  for (int b = 0; b < n; ++b)
    for (int ch = 0; ch < c; ++ch)
      std::memcpy(dst + ch * nhw + static_cast<size_t>(b) * hw,
                  src + (static_cast<size_t>(b) * c + ch) * hw, sizeof(float) * hw);
  return Status::Ok();
}

Status CpuBackend::bias_add(int outer, int channels, int inner, const float* bias, float* y) {
  const size_t total = static_cast<size_t>(outer) * channels * inner;
  if (inner == 1) {
#pragma omp parallel for num_threads(threads_) if (total > kParallelThreshold)
    for (int o = 0; o < outer; ++o) {
      float* row = y + static_cast<size_t>(o) * channels;
#pragma omp simd
      for (int c = 0; c < channels; ++c) row[c] += bias[c];
    }
    return Status::Ok();
  }
#pragma omp parallel for collapse(2) num_threads(threads_) if (total > kParallelThreshold)
  for (int o = 0; o < outer; ++o)
    for (int c = 0; c < channels; ++c) {
      float* row = y + (static_cast<size_t>(o) * channels + c) * inner;
      const float b = bias[c];
#pragma omp simd
      for (int i = 0; i < inner; ++i) row[i] += b;
    }
  return Status::Ok();
}

Status CpuBackend::bias_grad(int outer, int channels, int inner, const float* dy, float* db) {
  const size_t total = static_cast<size_t>(outer) * channels * inner;
  if (inner == 1) {
    // Column sums of a [outer, channels] matrix: accumulate row by row so the
    // inner loop runs over contiguous channels.
    std::fill(db, db + channels, 0.0f);
    for (int o = 0; o < outer; ++o) {
      const float* row = dy + static_cast<size_t>(o) * channels;
#pragma omp simd
      for (int c = 0; c < channels; ++c) db[c] += row[c];
    }
    return Status::Ok();
  }
#pragma omp parallel for num_threads(threads_) if (total > kParallelThreshold)
  for (int c = 0; c < channels; ++c) {
    double sum = 0;
    for (int o = 0; o < outer; ++o) {
      const float* row = dy + (static_cast<size_t>(o) * channels + c) * inner;
      float part = 0;
#pragma omp simd reduction(+ : part)
      for (int i = 0; i < inner; ++i) part += row[i];
      sum += part;
    }
    db[c] = static_cast<float>(sum);
  }
  return Status::Ok();
}

Status CpuBackend::relu_forward(size_t n, const float* x, float* y) {
#pragma omp parallel for simd num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  return Status::Ok();
}

Status CpuBackend::relu_backward(size_t n, const float* y, const float* dy, float* dx) {
#pragma omp parallel for simd num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
  return Status::Ok();
}

Status CpuBackend::maxpool_forward(const ConvShape& s, const float* x, float* y, int32_t* argmax) {
  const int oh = s.out_height(), ow = s.out_width();
  const int planes = s.batch * s.channels;
  const size_t in_plane = static_cast<size_t>(s.height) * s.width;
  const size_t out_plane = static_cast<size_t>(oh) * ow;
#pragma omp parallel for num_threads(threads_) if (planes * in_plane > kParallelThreshold)
  for (int p = 0; p < planes; ++p) {
    const float* src = x + p * in_plane;
    float* dst = y + p * out_plane;
    int32_t* arg = argmax + p * out_plane;
    for (int yo = 0; yo < oh; ++yo) {
      for (int xo = 0; xo < ow; ++xo) {
        float best = -std::numeric_limits<float>::infinity();
        int32_t best_idx = -1;
        for (int ki = 0; ki < s.kernel_h; ++ki) {
          const int iy = yo * s.stride - s.pad + ki;
          if (iy < 0 || iy >= s.height) continue;
          for (int kj = 0; kj < s.kernel_w; ++kj) {
            const int ix = xo * s.stride - s.pad + kj;
            if (ix < 0 || ix >= s.width) continue;
            const float v = src[iy * s.width + ix];
            if (v > best || best_idx < 0) {
              best = v;
              best_idx = iy * s.width + ix;
            }
          }
        }
        dst[yo * ow + xo] = best;
        // Store the index within the whole tensor so backward is one scatter.
        arg[yo * ow + xo] = static_cast<int32_t>(p * in_plane + best_idx);
      }
    }
  }
  return Status::Ok();
}

Status CpuBackend::maxpool_backward(const ConvShape& s, const float* dy, const int32_t* argmax,
                                    float* dx) {
  const size_t in_total = static_cast<size_t>(s.batch) * s.channels * s.height * s.width;
  const int planes = s.batch * s.channels;
  const size_t out_plane = static_cast<size_t>(s.out_height()) * s.out_width();
  const size_t in_plane = static_cast<size_t>(s.height) * s.width;
  // Per plane: argmax of plane p only points inside plane p, so planes are
  // independent and overlapping windows still accumulate correctly.
#pragma omp parallel for num_threads(threads_) if (in_total > kParallelThreshold)
  for (int p = 0; p < planes; ++p) {
    std::fill(dx + p * in_plane, dx + (p + 1) * in_plane, 0.0f);
    for (size_t i = p * out_plane; i < (p + 1) * out_plane; ++i) dx[argmax[i]] += dy[i];
  }
  return Status::Ok();
}

Status CpuBackend::dropout_forward(size_t n, float p, uint64_t seed, const float* x, float* y,
                                   float* mask) {
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  // Compare the top 24 bits against p * 2^24, exactly as the CUDA kernel does.
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * (1u << 24));
#pragma omp parallel for num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = dropout_hash(seed, i) >> 40;
    mask[i] = r >= threshold ? keep_scale : 0.0f;
    y[i] = x[i] * mask[i];
  }
  return Status::Ok();
}

Status CpuBackend::multiply(size_t n, const float* x, const float* y, float* z) {
#pragma omp parallel for simd num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) z[i] = x[i] * y[i];
  return Status::Ok();
}

Result<XentResult> CpuBackend::softmax_cross_entropy(int n, int classes, const float* logits,
                                                     const int32_t* labels, float grad_scale,
                                                     float* dlogits) {
  for (int i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= classes)
      return InvalidArgument("softmax_cross_entropy: label " + std::to_string(labels[i]) +
                             " at row " + std::to_string(i) + " is outside [0, " +
                             std::to_string(classes) + ")");
  }
  double loss = 0;
  int64_t correct = 0;
#pragma omp parallel for reduction(+ : loss, correct) num_threads(threads_) if (static_cast<size_t>(n) * classes > kParallelThreshold)
  for (int i = 0; i < n; ++i) {
    const float* row = logits + static_cast<size_t>(i) * classes;
    int best = 0;
    float mx = row[0];
    for (int c = 1; c < classes; ++c)
      if (row[c] > mx) mx = row[c], best = c;
    // log-sum-exp shifted by the max for stability.
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c] - mx));
    const double log_z = std::log(sum) + mx;
    loss += log_z - row[labels[i]];
    correct += best == labels[i];
    if (dlogits) {
      float* g = dlogits + static_cast<size_t>(i) * classes;
      for (int c = 0; c < classes; ++c) {
        const double p = std::exp(row[c] - log_z);
        g[c] = static_cast<float>((p - (c == labels[i] ? 1.0 : 0.0)) * grad_scale);
      }
    }
  }
  return XentResult{loss, correct};
}

Status CpuBackend::sgd_momentum_update(size_t n, float lr, float momentum, float weight_decay,
                                       const float* grad, float* velocity, float* param) {
#pragma omp parallel for simd num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) {
    const float g = grad[i] + weight_decay * param[i];
    velocity[i] = momentum * velocity[i] + g;
    param[i] -= lr * velocity[i];
  }
  return Status::Ok();
}

Status CpuBackend::adam_update(size_t n, float lr, float beta1, float beta2, float eps, int64_t t,
                               const float* grad, float* m, float* v, float* param) {
  const float c1 = 1.0f - static_cast<float>(std::pow(beta1, static_cast<double>(t)));
  const float c2 = 1.0f - static_cast<float>(std::pow(beta2, static_cast<double>(t)));
  const float step = lr / c1;
  const float inv_sqrt_c2 = 1.0f / std::sqrt(c2);
#pragma omp parallel for simd num_threads(threads_) if (n > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) {
    m[i] = beta1 * m[i] + (1.0f - beta1) * grad[i];
    v[i] = beta2 * v[i] + (1.0f - beta2) * grad[i] * grad[i];
    param[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps);
  }
  return Status::Ok();
}

}  // namespace cadre::kernels

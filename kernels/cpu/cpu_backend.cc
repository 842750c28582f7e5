#include "kernels/cpu/cpu_backend.h"

#include "kernels/cpu/im2col.h"
#include "kernels/cpu/vector_loops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>

namespace cadre::kernels {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr size_t kParallelThreshold = 1 << 15;

}  // namespace

CpuBackend::CpuBackend(int threads, bool direct_conv) : direct_conv_(direct_conv) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads_ = threads;
  // Parallelism is ours (see gemm()); OpenBLAS's pool is process-wide.
  openblas_set_num_threads(1);
  pool_ = std::make_unique<ThreadPool>(threads_);
}

CpuBackend::~CpuBackend() = default;

template <typename F>
void CpuBackend::parallel(size_t n, size_t work, F&& body) {
  // Below kParallelThreshold units of work a fork-join costs more than it saves.
  if (threads_ == 1 || work < kParallelThreshold || n < 2) {
    body(size_t{0}, n);
    return;
  }
  pool_->parallel_for(n, 1, body);
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
  const int lda = trans_a ? m : k, ldb = trans_b ? k : n;
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const size_t flops = 2ull * m * n * k;
  // OpenBLAS runs single-threaded; we split C into one block per thread along
  // its longer side. Its own threading splits the skinny GEMMs of a small
  // network poorly and made two threads slower than one.
  if (threads_ == 1 || flops < (size_t{1} << 22)) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
    return Status::Ok();
  }
  if (n >= m) {
    pool_->parallel_for(n, 64, [&](size_t lo, size_t hi) {
      const float* bb = trans_b ? b + lo * k : b + lo;
      cblas_sgemm(CblasRowMajor, ta, tb, m, static_cast<int>(hi - lo), k, alpha, a, lda, bb, ldb,
                  beta, c + lo, n);
    });
  } else {
    pool_->parallel_for(m, 16, [&](size_t lo, size_t hi) {
      const float* aa = trans_a ? a + lo : a + lo * k;
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(hi - lo), n, k, alpha, aa, lda, b, ldb,
                  beta, c + lo * n, n);
    });
  }
  return Status::Ok();
}

Status CpuBackend::axpy(size_t n, float alpha, const float* x, float* y) {
  parallel(n, n, [&](size_t lo, size_t hi) { loops::axpy(lo, hi, alpha, x, y); });
  return Status::Ok();
}

Status CpuBackend::scale(size_t n, float alpha, float* x) {
  if (alpha == 0.0f) return fill(x, 0.0f, n);  // beta = 0 must also clear NaNs
  parallel(n, n, [&](size_t lo, size_t hi) { loops::scale(lo, hi, alpha, x); });
  return Status::Ok();
}

Status CpuBackend::im2col(const ConvShape& s, const float* x, float* col) {
  const int rows = s.channels * s.kernel_h * s.kernel_w;
  const size_t cols = static_cast<size_t>(s.out_height()) * s.out_width() * s.batch;
  // Each row (channel, ki, kj) is independent: parallelise over rows.
  parallel(rows, cols * rows, [&](size_t lo, size_t hi) { im2col_rows(s, x, col, lo, hi); });
  return Status::Ok();
}

Status CpuBackend::col2im(const ConvShape& s, const float* col, float* dx) {
  const size_t cols = static_cast<size_t>(s.out_height()) * s.out_width() * s.batch;
  // Parallel over channels: every (batch, channel) plane of dx is written by
  // exactly one thread, so the scatter needs no atomics.
  parallel(s.channels, cols * s.channels,
           [&](size_t lo, size_t hi) { col2im_channels(s, col, dx, lo, hi); });
  return Status::Ok();
}

Status CpuBackend::cn_to_nchw(int n, int c, int hw, const float* src, float* dst) {
  const size_t nhw = static_cast<size_t>(n) * hw;
  parallel(n, nhw * c, [&](size_t lo, size_t hi) {
    for (size_t b = lo; b < hi; ++b)
      for (int ch = 0; ch < c; ++ch)
        std::memcpy(dst + (b * c + ch) * hw, src + ch * nhw + b * hw, sizeof(float) * hw);
  });
  return Status::Ok();
}

Status CpuBackend::nchw_to_cn(int n, int c, int hw, const float* src, float* dst) {
  const size_t nhw = static_cast<size_t>(n) * hw;
  parallel(n, nhw * c, [&](size_t lo, size_t hi) {
    for (size_t b = lo; b < hi; ++b)
      for (int ch = 0; ch < c; ++ch)
        std::memcpy(dst + ch * nhw + b * hw, src + (b * c + ch) * hw, sizeof(float) * hw);
  });
  return Status::Ok();
}

Status CpuBackend::bias_add(int outer, int channels, int inner, const float* bias, float* y) {
  const size_t total = static_cast<size_t>(outer) * channels * inner;
  if (inner == 1) {
    parallel(outer, total, [&](size_t lo, size_t hi) {
      for (size_t o = lo; o < hi; ++o) {
        float* row = y + o * channels;
#pragma omp simd
        for (int c = 0; c < channels; ++c) row[c] += bias[c];
      }
    });
    return Status::Ok();
  }
  parallel(static_cast<size_t>(outer) * channels, total, [&](size_t lo, size_t hi) {
    for (size_t oc = lo; oc < hi; ++oc) {
      float* row = y + oc * inner;
      const float b = bias[oc % channels];
#pragma omp simd
      for (int i = 0; i < inner; ++i) row[i] += b;
    }
  });
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
  parallel(channels, total, [&](size_t lo, size_t hi) {
    for (int c = static_cast<int>(lo); c < static_cast<int>(hi); ++c) {
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
  });
  return Status::Ok();
}

Status CpuBackend::relu_forward(size_t n, const float* x, float* y) {
  parallel(n, n, [&](size_t lo, size_t hi) { loops::relu_forward(lo, hi, x, y); });
  return Status::Ok();
}

Status CpuBackend::relu_backward(size_t n, const float* y, const float* dy, float* dx) {
  parallel(n, n, [&](size_t lo, size_t hi) { loops::relu_backward(lo, hi, y, dy, dx); });
  return Status::Ok();
}

Status CpuBackend::maxpool_forward(const ConvShape& s, const float* x, float* y, int32_t* argmax) {
  const int oh = s.out_height(), ow = s.out_width();
  const int planes = s.batch * s.channels;
  const size_t in_plane = static_cast<size_t>(s.height) * s.width;
  const size_t out_plane = static_cast<size_t>(oh) * ow;
  if (s.kernel_h == 2 && s.kernel_w == 2 && s.stride == 2 && s.pad == 0) {
    // The common case, in vector_loops.cc.
    parallel(planes, planes * in_plane, [&](size_t lo, size_t hi) {
      loops::maxpool2x2(lo, hi, s.height, s.width, x, y, argmax);
    });
    return Status::Ok();
  }
  parallel(planes, planes * in_plane, [&](size_t lo, size_t hi) {
    for (size_t p = lo; p < hi; ++p) {
      const float* src = x + p * in_plane;
      float* dst = y + p * out_plane;
      int32_t* arg = argmax + p * out_plane;
      const int32_t base = static_cast<int32_t>(p * in_plane);
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
          // The index within the whole tensor, so backward is one scatter.
          arg[yo * ow + xo] = base + best_idx;
        }
      }
    }
  });
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
  parallel(planes, in_total, [&](size_t lo, size_t hi) {
    for (size_t p = lo; p < hi; ++p) {
      std::fill(dx + p * in_plane, dx + (p + 1) * in_plane, 0.0f);
      for (size_t i = p * out_plane; i < (p + 1) * out_plane; ++i) dx[argmax[i]] += dy[i];
    }
  });
  return Status::Ok();
}

Status CpuBackend::dropout_forward(size_t n, float p, uint64_t seed, const float* x, float* y,
                                   float* mask) {
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  // Compare the top 24 bits against p * 2^24, exactly as the CUDA kernel does.
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * (1u << 24));
  parallel(n, n, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      const uint64_t r = dropout_hash(seed, i) >> 40;
      mask[i] = r >= threshold ? keep_scale : 0.0f;
      y[i] = x[i] * mask[i];
    }
  });
  return Status::Ok();
}

Status CpuBackend::multiply(size_t n, const float* x, const float* y, float* z) {
  parallel(n, n, [&](size_t lo, size_t hi) { loops::multiply(lo, hi, x, y, z); });
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
  std::mutex mu;
  double loss = 0;
  int64_t correct = 0;
  parallel(n, static_cast<size_t>(n) * classes * 16, [&](size_t lo, size_t hi) {
    double part_loss = 0;
    int64_t part_correct = 0;
    for (int i = static_cast<int>(lo); i < static_cast<int>(hi); ++i) {
      const float* row = logits + static_cast<size_t>(i) * classes;
      int best = 0;
      float mx = row[0];
      for (int c = 1; c < classes; ++c)
        if (row[c] > mx) mx = row[c], best = c;
      // log-sum-exp shifted by the max for stability.
      double sum = 0;
      for (int c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c] - mx));
      const double log_z = std::log(sum) + mx;
      part_loss += log_z - row[labels[i]];
      part_correct += best == labels[i];
      if (dlogits) {
        float* g = dlogits + static_cast<size_t>(i) * classes;
        for (int c = 0; c < classes; ++c) {
          const double p = std::exp(row[c] - log_z);
          g[c] = static_cast<float>((p - (c == labels[i] ? 1.0 : 0.0)) * grad_scale);
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    loss += part_loss;
    correct += part_correct;
  });
  return XentResult{loss, correct};
}

Status CpuBackend::sgd_momentum_update(size_t n, float lr, float momentum, float weight_decay,
                                       const float* grad, float* velocity, float* param) {
  parallel(n, n, [&](size_t lo, size_t hi) {
    loops::sgd_momentum(lo, hi, lr, momentum, weight_decay, grad, velocity, param);
  });
  return Status::Ok();
}

Status CpuBackend::adam_update(size_t n, float lr, float beta1, float beta2, float eps, int64_t t,
                               const float* grad, float* m, float* v, float* param) {
  const float c1 = 1.0f - static_cast<float>(std::pow(beta1, static_cast<double>(t)));
  const float c2 = 1.0f - static_cast<float>(std::pow(beta2, static_cast<double>(t)));
  const float step = lr / c1;
  const float inv_sqrt_c2 = 1.0f / std::sqrt(c2);
  parallel(n, n, [&](size_t lo, size_t hi) {
    loops::adam(lo, hi, beta1, beta2, eps, step, inv_sqrt_c2, grad, m, v, param);
  });
  return Status::Ok();
}

}  // namespace cadre::kernels

// The CPU backend's fused convolution: the batch is split into groups of images
// whose im2col columns fit in about 1 MiB (so the GEMM reads them from cache),
// and each thread convolves a contiguous run of groups with single-threaded
// OpenBLAS calls. Weight gradients are accumulated per thread and summed once.
// Stride-1 convolutions on AVX-512 CPUs take the direct kernels instead
// (direct_conv.h), split across threads by image the same way.
#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/direct_conv.h"
#include "kernels/cpu/im2col.h"

namespace cadre::kernels {
namespace {

constexpr size_t kColumnBudgetFloats = size_t{1} << 18;

struct Plan {
  int group = 1;   // images per im2col + GEMM round
  int groups = 1;  // rounds in the batch
  int rows = 0;    // C * kh * kw
  int hw = 0;      // OH * OW
  size_t in_image = 0, out_image = 0;
};

Plan plan_for(const ConvShape& s, int out_channels) {
  Plan p;
  p.rows = s.channels * s.kernel_h * s.kernel_w;
  p.hw = s.out_height() * s.out_width();
  p.in_image = static_cast<size_t>(s.channels) * s.height * s.width;
  p.out_image = static_cast<size_t>(out_channels) * p.hw;
  const size_t per_image = static_cast<size_t>(p.rows) * p.hw;
  p.group = static_cast<int>(
      std::max<size_t>(1, std::min<size_t>(s.batch, kColumnBudgetFloats / per_image)));
  p.groups = (s.batch + p.group - 1) / p.group;
  return p;
}

void grow(std::vector<float>* v, size_t n) {
  if (v->size() < n) v->resize(n);
}

// Runs body(t) for every worker t in [0, workers): inline for one, else on the pool.
template <typename F>
void on_workers(ThreadPool* pool, int workers, F&& body) {
  if (workers <= 1) {
    body(0);
    return;
  }
  pool->parallel_for(workers, 1, [&](size_t lo, size_t hi) {
    for (size_t t = lo; t < hi; ++t) body(t);
  });
}

direct_conv::Geometry geometry_of(const ConvShape& s, int out_channels) {
  return direct_conv::make_geometry(s.channels, s.height, s.width, s.kernel_h, s.kernel_w, s.pad,
                                    s.pad, out_channels);
}

}  // namespace

bool CpuBackend::use_direct_conv(const ConvShape& s) const {
  // The data gradient is a convolution padded by k-1-pad, so pad must not
  // exceed k-1 (a wider pad only adds zero rows around the output).
  return direct_conv_ && s.stride == 1 && s.pad <= std::min(s.kernel_h, s.kernel_w) - 1 &&
         direct_conv::available();
}

Status CpuBackend::direct_conv2d_forward(const ConvShape& s, int out_channels, const float* x,
                                         const float* w, const float* b, float* y) {
  const direct_conv::Geometry g = geometry_of(s, out_channels);
  grow(&packed_w_, direct_conv::packed_weights_size(g));
  grow(&packed_bias_, g.out_lanes);
  direct_conv::pack_weights(g, w, packed_w_.data());
  direct_conv::pack_bias(g, b, packed_bias_.data());
  const size_t in_image = static_cast<size_t>(s.channels) * s.height * s.width;
  const size_t out_image = static_cast<size_t>(out_channels) * g.out_h * g.out_w;
  const int workers = std::min(threads_, s.batch);
  if (scratch_.size() < static_cast<size_t>(threads_)) scratch_.resize(threads_);
  auto body = [&](size_t t) {
    ConvScratch& sc = scratch_[t];
    grow(&sc.padded, direct_conv::padded_input_size(g));
    grow(&sc.tile, direct_conv::row_tile_size(g));
    const int first = static_cast<int>(s.batch * t / workers);
    const int last = static_cast<int>(s.batch * (t + 1) / workers);
    for (int n = first; n < last; ++n) {
      direct_conv::pad_input(g, x + n * in_image, sc.padded.data());
      direct_conv::forward(g, sc.padded.data(), packed_w_.data(), packed_bias_.data(),
                           y + n * out_image, sc.tile.data());
    }
  };
  on_workers(pool_.get(), workers, body);
  return Status::Ok();
}

Status CpuBackend::direct_conv2d_backward(const ConvShape& s, int out_channels, const float* x,
                                          const float* w, const float* dy, float* dw, float* dx) {
  const direct_conv::Geometry g = geometry_of(s, out_channels);
  const direct_conv::Geometry d = direct_conv::data_grad_geometry(g);
  if (dx) {
    grow(&packed_w_, direct_conv::packed_weights_size(d));
    grow(&packed_bias_, d.out_lanes);
    direct_conv::pack_data_grad_weights(g, w, packed_w_.data());
    direct_conv::pack_bias(d, nullptr, packed_bias_.data());
  }
  const size_t in_image = static_cast<size_t>(s.channels) * s.height * s.width;
  const size_t out_image = static_cast<size_t>(out_channels) * g.out_h * g.out_w;
  const size_t dw_size = direct_conv::packed_weights_size(g);
  const int workers = std::min(threads_, s.batch);
  if (scratch_.size() < static_cast<size_t>(threads_)) scratch_.resize(threads_);
  auto body = [&](size_t t) {
    ConvScratch& sc = scratch_[t];
    grow(&sc.padded, direct_conv::padded_input_size(g));
    grow(&sc.pixel_major, direct_conv::pixel_major_output_size(g));
    grow(&sc.packed_dw, dw_size);
    std::fill_n(sc.packed_dw.begin(), dw_size, 0.0f);
    if (dx) {
      grow(&sc.padded_dy, direct_conv::padded_input_size(d));
      grow(&sc.tile, direct_conv::row_tile_size(d));
    }
    const int first = static_cast<int>(s.batch * t / workers);
    const int last = static_cast<int>(s.batch * (t + 1) / workers);
    for (int n = first; n < last; ++n) {
      const float* dyn = dy + n * out_image;
      direct_conv::pad_input(g, x + n * in_image, sc.padded.data());
      direct_conv::to_pixel_major(g, dyn, sc.pixel_major.data());
      direct_conv::weight_grad(g, sc.padded.data(), sc.pixel_major.data(), sc.packed_dw.data());
      if (!dx) continue;
      direct_conv::pad_input(d, dyn, sc.padded_dy.data());
      direct_conv::forward(d, sc.padded_dy.data(), packed_w_.data(), packed_bias_.data(),
                           dx + n * in_image, sc.tile.data());
    }
  };
  on_workers(pool_.get(), workers, body);
  std::vector<const float*> parts;
  for (int t = 0; t < std::max(workers, 1); ++t) parts.push_back(scratch_[t].packed_dw.data());
  direct_conv::unpack_weight_grad(g, parts.data(), static_cast<int>(parts.size()), dw);
  return Status::Ok();
}

Status CpuBackend::conv2d_forward(const ConvShape& s, int out_channels, const float* x,
                                  const float* w, const float* b, float* y) {
  if (use_direct_conv(s)) return direct_conv2d_forward(s, out_channels, x, w, b, y);
  const Plan p = plan_for(s, out_channels);
  const int workers = std::min(threads_, p.groups);
  if (scratch_.size() < static_cast<size_t>(threads_)) scratch_.resize(threads_);
  auto body = [&](size_t t) {
    ConvScratch& sc = scratch_[t];
    grow(&sc.col, static_cast<size_t>(p.rows) * p.group * p.hw);
    grow(&sc.cn, static_cast<size_t>(out_channels) * p.group * p.hw);
    const int first = static_cast<int>(p.groups * t / workers);
    const int last = static_cast<int>(p.groups * (t + 1) / workers);
    for (int gi = first; gi < last; ++gi) {
      const int g0 = gi * p.group, g = std::min(p.group, s.batch - g0);
      const int cols = g * p.hw;
      ConvShape gs = s;
      gs.batch = g;
      im2col_rows(gs, x + g0 * p.in_image, sc.col.data(), 0, p.rows);
      // cn[OC, g*OH*OW] = W[OC, C*k*k] col, then + bias, then to NCHW.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out_channels, cols, p.rows, 1.0f, w,
                  p.rows, sc.col.data(), cols, 0.0f, sc.cn.data(), cols);
      float* out = y + g0 * p.out_image;
      for (int img = 0; img < g; ++img)
        for (int oc = 0; oc < out_channels; ++oc) {
          const float* src = sc.cn.data() + static_cast<size_t>(oc) * cols + img * p.hw;
          float* dst = out + (static_cast<size_t>(img) * out_channels + oc) * p.hw;
          const float bias = b[oc];
#pragma omp simd
          for (int i = 0; i < p.hw; ++i) dst[i] = src[i] + bias;
        }
    }
  };
  on_workers(pool_.get(), workers, body);
  return Status::Ok();
}

Status CpuBackend::conv2d_backward(const ConvShape& s, int out_channels, const float* x,
                                   const float* w, const float* dy, float* dw, float* db,
                                   float* dx) {
  const Plan p = plan_for(s, out_channels);
  RETURN_IF_ERROR(bias_grad(s.batch, out_channels, p.hw, dy, db));
  if (use_direct_conv(s)) return direct_conv2d_backward(s, out_channels, x, w, dy, dw, dx);
  const int workers = std::min(threads_, p.groups);
  if (scratch_.size() < static_cast<size_t>(threads_)) scratch_.resize(threads_);
  const size_t dw_size = static_cast<size_t>(out_channels) * p.rows;
  auto body = [&](size_t t) {
    ConvScratch& sc = scratch_[t];
    grow(&sc.col, static_cast<size_t>(p.rows) * p.group * p.hw);
    grow(&sc.cn, static_cast<size_t>(out_channels) * p.group * p.hw);
    if (dx) grow(&sc.dcol, static_cast<size_t>(p.rows) * p.group * p.hw);
    // Thread 0 accumulates straight into dw; the others into a partial.
    float* my_dw = dw;
    if (t > 0) {
      grow(&sc.dw, dw_size);
      my_dw = sc.dw.data();
    }
    const int first = static_cast<int>(p.groups * t / workers);
    const int last = static_cast<int>(p.groups * (t + 1) / workers);
    for (int gi = first; gi < last; ++gi) {
      const int g0 = gi * p.group, g = std::min(p.group, s.batch - g0);
      const int cols = g * p.hw;
      ConvShape gs = s;
      gs.batch = g;
      // Columns are recomputed rather than kept from forward: cheaper than
      // holding a whole batch of them and streaming them back from memory.
      im2col_rows(gs, x + g0 * p.in_image, sc.col.data(), 0, p.rows);
      const float* dyg = dy + g0 * p.out_image;
      for (int img = 0; img < g; ++img)
        for (int oc = 0; oc < out_channels; ++oc)
          std::copy_n(dyg + (static_cast<size_t>(img) * out_channels + oc) * p.hw, p.hw,
                      sc.cn.data() + static_cast<size_t>(oc) * cols + img * p.hw);
      // dW[OC, C*k*k] (+)= dcn col^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out_channels, p.rows, cols, 1.0f,
                  sc.cn.data(), cols, sc.col.data(), cols, gi == first ? 0.0f : 1.0f, my_dw,
                  p.rows);
      if (!dx) continue;
      // dcol = W^T dcn, scattered back into dx by col2im.
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p.rows, cols, out_channels, 1.0f, w,
                  p.rows, sc.cn.data(), cols, 0.0f, sc.dcol.data(), cols);
      col2im_channels(gs, sc.dcol.data(), dx + g0 * p.in_image, 0, s.channels);
    }
  };
  on_workers(pool_.get(), workers, body);
  for (int t = 1; t < workers; ++t) {
    const float* part = scratch_[t].dw.data();
#pragma omp simd
    for (size_t i = 0; i < dw_size; ++i) dw[i] += part[i];
  }
  return Status::Ok();
}

}  // namespace cadre::kernels

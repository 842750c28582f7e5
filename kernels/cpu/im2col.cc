#include "kernels/cpu/im2col.h"

#include <algorithm>
#include <cstring>

namespace cadre::kernels {

void im2col_rows(const ConvShape& s, const float* x, float* col, size_t r_lo, size_t r_hi) {
  const int oh = s.out_height(), ow = s.out_width();
  const size_t ohw = static_cast<size_t>(oh) * ow;
  const size_t cols = ohw * s.batch;
  for (int r = static_cast<int>(r_lo); r < static_cast<int>(r_hi); ++r) {
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
          // An inline loop, not memcpy: rows are 14-28 floats and a call per
          // row cost more than the copy.
          const float* shifted = src - s.pad + kj;
#pragma omp simd
          for (int xo = lo; xo < hi; ++xo) dst[xo] = shifted[xo];
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
}

void col2im_channels(const ConvShape& s, const float* col, float* dx, size_t c_lo, size_t c_hi) {
  const int oh = s.out_height(), ow = s.out_width();
  const size_t ohw = static_cast<size_t>(oh) * ow;
  const size_t cols = ohw * s.batch;
  const size_t plane_size = static_cast<size_t>(s.height) * s.width;
  for (int c = static_cast<int>(c_lo); c < static_cast<int>(c_hi); ++c) {
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
}

}  // namespace cadre::kernels

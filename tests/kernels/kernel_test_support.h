// Random inputs, tolerant comparison and naive reference convolutions shared by
// the CPU kernel tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "kernels/backend.h"
#include "tests/support/status_matchers.h"

namespace cadre::kernels {

inline std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A CPU backend; direct_conv false keeps every convolution on im2col + GEMM.
inline std::unique_ptr<Backend> cpu(int threads, bool direct_conv = true) {
  BackendOptions options;
  options.threads = threads;
  options.cpu_direct_conv = direct_conv;
  auto b = create_backend(options);
  EXPECT_OK(b);
  return std::move(b).value();
}

inline void expect_near_all(const std::vector<float>& got, const std::vector<float>& want,
                            float tol = 1e-4f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1.0f + std::fabs(want[i]))) << "at index " << i;
}

// Calls f(n, o, y, x, c, i, j, input index, weight index, output index) for
// every term of a convolution that reads a real (not padding) input value.
template <typename F>
void for_each_conv_term(const ConvShape& s, int out_channels, F&& f) {
  const int oh = s.out_height(), ow = s.out_width();
  for (int n = 0; n < s.batch; ++n)
    for (int o = 0; o < out_channels; ++o)
      for (int y = 0; y < oh; ++y)
        for (int xo = 0; xo < ow; ++xo)
          for (int c = 0; c < s.channels; ++c)
            for (int i = 0; i < s.kernel_h; ++i)
              for (int j = 0; j < s.kernel_w; ++j) {
                const int iy = y * s.stride - s.pad + i, ix = xo * s.stride - s.pad + j;
                if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
                const size_t xi =
                    ((static_cast<size_t>(n) * s.channels + c) * s.height + iy) * s.width + ix;
                const size_t wi =
                    ((static_cast<size_t>(o) * s.channels + c) * s.kernel_h + i) * s.kernel_w + j;
                const size_t yi = ((static_cast<size_t>(n) * out_channels + o) * oh + y) * ow + xo;
                f(o, xi, wi, yi);
              }
}

// out[n, o, y, x] = b[o] + sum_c,i,j w[o, c, i, j] * x[n, c, y*s-p+i, x*s-p+j]
// (no bias when b is empty), accumulated in double.
inline std::vector<float> naive_conv_forward(const ConvShape& s, int out_channels,
                                             const std::vector<float>& x,
                                             const std::vector<float>& w,
                                             const std::vector<float>& b) {
  const size_t out_n = static_cast<size_t>(s.batch) * out_channels * s.out_height() * s.out_width();
  std::vector<double> acc(out_n, 0.0);
  for_each_conv_term(s, out_channels, [&](int, size_t xi, size_t wi, size_t yi) {
    acc[yi] += static_cast<double>(w[wi]) * x[xi];
  });
  std::vector<float> out(out_n);
  const size_t plane = static_cast<size_t>(s.out_height()) * s.out_width();
  for (size_t i = 0; i < out_n; ++i)
    out[i] = static_cast<float>(acc[i] + (b.empty() ? 0.0 : b[(i / plane) % out_channels]));
  return out;
}

struct ConvGradients {
  std::vector<float> dw, db, dx;
};

inline ConvGradients naive_conv_backward(const ConvShape& s, int out_channels,
                                         const std::vector<float>& x, const std::vector<float>& w,
                                         const std::vector<float>& dy) {
  std::vector<double> dw(w.size(), 0.0), db(out_channels, 0.0), dx(x.size(), 0.0);
  const size_t plane = static_cast<size_t>(s.out_height()) * s.out_width();
  for (size_t i = 0; i < dy.size(); ++i) db[(i / plane) % out_channels] += dy[i];
  for_each_conv_term(s, out_channels, [&](int, size_t xi, size_t wi, size_t yi) {
    dw[wi] += static_cast<double>(dy[yi]) * x[xi];
    dx[xi] += static_cast<double>(dy[yi]) * w[wi];
  });
  auto to_float = [](const std::vector<double>& v) {
    return std::vector<float>(v.begin(), v.end());
  };
  return {to_float(dw), to_float(db), to_float(dx)};
}

}  // namespace cadre::kernels

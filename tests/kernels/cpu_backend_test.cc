// Every CPU kernel against a naive reference on random inputs of awkward sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/backend.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/status_matchers.h"

namespace cadre::kernels {
namespace {

float at(const std::vector<float>& m, int rows, int cols, int r, int c, bool trans) {
  return trans ? m[static_cast<size_t>(c) * rows + r] : m[static_cast<size_t>(r) * cols + c];
}

TEST(CpuGemm, MatchesTripleLoopForEveryTransposeOnAwkwardSizes) {
  auto be = cpu(2);
  for (int m : {1, 7, 33})
    for (int n : {1, 13, 65})
      for (int k : {1, 5, 129})
        for (bool ta : {false, true})
          for (bool tb : {false, true}) {
            auto a = random_vector(static_cast<size_t>(m) * k, 1);
            auto b = random_vector(static_cast<size_t>(k) * n, 2);
            auto c = random_vector(static_cast<size_t>(m) * n, 3);
            std::vector<float> want(c.size());
            for (int i = 0; i < m; ++i)
              for (int j = 0; j < n; ++j) {
                double acc = 0;
                for (int p = 0; p < k; ++p) acc += at(a, m, k, i, p, ta) * at(b, k, n, p, j, tb);
                want[static_cast<size_t>(i) * n + j] = 0.5f * acc + 2.0f * c[i * n + j];
              }
            ASSERT_OK(be->gemm(ta, tb, m, n, k, 0.5f, a.data(), b.data(), 2.0f, c.data()));
            expect_near_all(c, want);
          }
}

TEST(CpuConv, Im2colGemmEqualsDirectConvolutionWithPaddingAndStride) {
  auto be = cpu(2);
  for (int stride : {1, 2})
    for (int pad : {0, 1, 2}) {
      ConvShape s{3, 5, 11, 9, 5, 3, pad, stride};
      const int oc = 7, oh = s.out_height(), ow = s.out_width();
      auto x = random_vector(static_cast<size_t>(s.batch) * s.channels * s.height * s.width, 4);
      auto w = random_vector(static_cast<size_t>(oc) * s.channels * s.kernel_h * s.kernel_w, 5);
      const int rows = s.channels * s.kernel_h * s.kernel_w;
      const int cols = s.batch * oh * ow;
      std::vector<float> col(static_cast<size_t>(rows) * cols), cn(static_cast<size_t>(oc) * cols),
          out(cn.size());
      ASSERT_OK(be->im2col(s, x.data(), col.data()));
      ASSERT_OK(be->gemm(false, false, oc, cols, rows, 1, w.data(), col.data(), 0, cn.data()));
      ASSERT_OK(be->cn_to_nchw(s.batch, oc, oh * ow, cn.data(), out.data()));
      expect_near_all(out, naive_conv_forward(s, oc, x, w, {}));
    }
}

TEST(CpuGemm, SplitsLargeProductsAcrossThreadsWithoutChangingTheResult) {
  auto one = cpu(1), two = cpu(2);
  for (auto [m, n, k] : {std::tuple{33, 1000, 129}, {1000, 33, 129}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        auto a = random_vector(static_cast<size_t>(m) * k, 21);
        auto b = random_vector(static_cast<size_t>(k) * n, 22);
        std::vector<float> c1(static_cast<size_t>(m) * n, 1.0f), c2 = c1;
        ASSERT_OK(one->gemm(ta, tb, m, n, k, 1.0f, a.data(), b.data(), 0.5f, c1.data()));
        ASSERT_OK(two->gemm(ta, tb, m, n, k, 1.0f, a.data(), b.data(), 0.5f, c2.data()));
        expect_near_all(c2, c1, 1e-5f);
      }
}

TEST(CpuConv, Col2imIsTheAdjointOfIm2col) {
  // <im2col(x), c> == <x, col2im(c)> for every x, c: the defining property of the
  // backward scatter, which catches any misplaced or dropped accumulation.
  auto be = cpu(2);
  for (int stride : {1, 2, 3}) {
    ConvShape s{2, 3, 10, 13, 3, 4, 1, stride};
    const size_t in_n = static_cast<size_t>(s.batch) * s.channels * s.height * s.width;
    const size_t col_n = static_cast<size_t>(s.channels) * s.kernel_h * s.kernel_w * s.batch *
                         s.out_height() * s.out_width();
    auto x = random_vector(in_n, 6), c = random_vector(col_n, 7);
    std::vector<float> col(col_n), dx(in_n, 99.0f);
    ASSERT_OK(be->im2col(s, x.data(), col.data()));
    ASSERT_OK(be->col2im(s, c.data(), dx.data()));
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < col_n; ++i) lhs += static_cast<double>(col[i]) * c[i];
    for (size_t i = 0; i < in_n; ++i) rhs += static_cast<double>(x[i]) * dx[i];
    EXPECT_NEAR(lhs, rhs, 1e-3 * (1 + std::fabs(lhs)));
  }
}

TEST(CpuLayout, NchwAndChannelMajorRoundTrip) {
  auto be = cpu(1);
  auto x = random_vector(3 * 5 * 7, 8);
  std::vector<float> cn(x.size()), back(x.size());
  ASSERT_OK(be->nchw_to_cn(3, 5, 7, x.data(), cn.data()));
  EXPECT_EQ(cn[1 * 21 + 2 * 7 + 4], x[(2 * 5 + 1) * 7 + 4]);
  ASSERT_OK(be->cn_to_nchw(3, 5, 7, cn.data(), back.data()));
  EXPECT_EQ(back, x);
}

TEST(CpuBias, AddsAndReducesPerChannelForDenseAndSpatialLayouts) {
  auto be = cpu(2);
  for (int inner : {1, 17}) {
    const int outer = 6, ch = 11;
    auto y = random_vector(static_cast<size_t>(outer) * ch * inner, 9);
    auto b = random_vector(ch, 10);
    auto want = y;
    std::vector<float> want_db(ch, 0.0f), db(ch, 5.0f);
    for (int o = 0; o < outer; ++o)
      for (int c = 0; c < ch; ++c)
        for (int i = 0; i < inner; ++i) {
          want[(o * ch + c) * inner + i] += b[c];
          want_db[c] += y[(o * ch + c) * inner + i];
        }
    ASSERT_OK(be->bias_grad(outer, ch, inner, y.data(), db.data()));
    ASSERT_OK(be->bias_add(outer, ch, inner, b.data(), y.data()));
    expect_near_all(y, want);
    expect_near_all(db, want_db);
  }
}

TEST(CpuRelu, ZeroesNegativesAndGatesTheGradient) {
  auto be = cpu(1);
  std::vector<float> x{-2, -0.0f, 0.5f, 3}, y(4), dy{1, 2, 3, 4}, dx(4);
  ASSERT_OK(be->relu_forward(4, x.data(), y.data()));
  EXPECT_EQ(y, (std::vector<float>{0, 0, 0.5f, 3}));
  ASSERT_OK(be->relu_backward(4, y.data(), dy.data(), dx.data()));
  EXPECT_EQ(dx, (std::vector<float>{0, 0, 3, 4}));
}

TEST(CpuMaxPool, PicksTheWindowMaximumAndRoutesGradientsToIt) {
  auto be = cpu(2);
  for (auto [k, stride, pad] : {std::tuple{2, 2, 0}, {3, 2, 1}, {3, 1, 0}}) {
    ConvShape s{2, 3, 9, 7, k, k, pad, stride};
    const int oh = s.out_height(), ow = s.out_width();
    const size_t in_n = static_cast<size_t>(s.batch) * s.channels * s.height * s.width;
    const size_t out_n = static_cast<size_t>(s.batch) * s.channels * oh * ow;
    auto x = random_vector(in_n, 11);
    auto dy = random_vector(out_n, 12);
    std::vector<float> y(out_n), dx(in_n), want_dx(in_n, 0.0f);
    std::vector<int32_t> arg(out_n);
    ASSERT_OK(be->maxpool_forward(s, x.data(), y.data(), arg.data()));
    for (int p = 0; p < s.batch * s.channels; ++p)
      for (int yo = 0; yo < oh; ++yo)
        for (int xo = 0; xo < ow; ++xo) {
          float best = -1e30f;
          size_t bi = 0;
          for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j) {
              int iy = yo * stride - pad + i, ix = xo * stride - pad + j;
              if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
              size_t idx = static_cast<size_t>(p) * s.height * s.width + iy * s.width + ix;
              if (x[idx] > best) best = x[idx], bi = idx;
            }
          size_t o = (static_cast<size_t>(p) * oh + yo) * ow + xo;
          ASSERT_EQ(y[o], best);
          want_dx[bi] += dy[o];
        }
    ASSERT_OK(be->maxpool_backward(s, dy.data(), arg.data(), dx.data()));
    expect_near_all(dx, want_dx);
  }
}

TEST(CpuSoftmaxXent, MatchesNaiveLossGradientAndAccuracy) {
  auto be = cpu(2);
  const int n = 37, classes = 10;
  auto logits = random_vector(static_cast<size_t>(n) * classes, 13, -5, 5);
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = (i * 7) % classes;
  std::vector<float> grad(logits.size()), want(logits.size());
  double want_loss = 0;
  int64_t want_correct = 0;
  for (int i = 0; i < n; ++i) {
    double z = 0;
    int best = 0;
    for (int c = 0; c < classes; ++c) {
      z += std::exp(logits[i * classes + c]);
      if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    }
    want_loss += -std::log(std::exp(logits[i * classes + labels[i]]) / z);
    want_correct += best == labels[i];
    for (int c = 0; c < classes; ++c)
      want[i * classes + c] =
          (std::exp(logits[i * classes + c]) / z - (c == labels[i])) / static_cast<float>(n);
  }
  auto r =
      be->softmax_cross_entropy(n, classes, logits.data(), labels.data(), 1.0f / n, grad.data());
  ASSERT_OK(r);
  EXPECT_NEAR(r->loss_sum, want_loss, 1e-4 * want_loss);
  EXPECT_EQ(r->correct, want_correct);
  expect_near_all(grad, want);
}

TEST(CpuSoftmaxXent, RejectsALabelOutsideTheClassRange) {
  auto be = cpu(1);
  std::vector<float> logits(6, 0.0f);
  std::vector<int32_t> labels{0, 3};
  auto r = be->softmax_cross_entropy(2, 3, logits.data(), labels.data(), 1.0f, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("label 3"), std::string::npos);
}

TEST(CpuDropout, KeepsAboutOneMinusPAndScalesSurvivors) {
  auto be = cpu(2);
  const size_t n = 100003;
  std::vector<float> x(n, 1.0f), y(n), mask(n), again_y(n), again_mask(n);
  ASSERT_OK(be->dropout_forward(n, 0.25f, 42, x.data(), y.data(), mask.data()));
  ASSERT_OK(be->dropout_forward(n, 0.25f, 42, x.data(), again_y.data(), again_mask.data()));
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(y[i] == 0.0f || std::fabs(y[i] - 1.0f / 0.75f) < 1e-6f);
    kept += y[i] != 0.0f;
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.75, 0.01);
  EXPECT_EQ(mask, again_mask) << "same seed must give the same mask";
}

TEST(CpuOptimizers, SgdMomentumAndAdamFollowTheirReferenceFormulas) {
  auto be = cpu(2);
  const size_t n = 1001;
  auto w = random_vector(n, 14), g = random_vector(n, 15);
  auto w_sgd = w, w_adam = w, want_sgd = w, want_adam = w;
  std::vector<float> vel(n, 0.1f), m(n, 0.0f), v(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    float gi = g[i] + 1e-4f * w[i];
    float vi = 0.9f * 0.1f + gi;
    want_sgd[i] = w[i] - 0.05f * vi;
    for (int t = 1; t <= 2; ++t) {  // two Adam steps with the same gradient
      float mi = (t == 1) ? 0.1f * g[i] : 0.9f * 0.1f * g[i] + 0.1f * g[i];
      float vv =
          (t == 1) ? 0.001f * g[i] * g[i] : 0.999f * 0.001f * g[i] * g[i] + 0.001f * g[i] * g[i];
      float mh = mi / (1 - std::pow(0.9f, t)), vh = vv / (1 - std::pow(0.999f, t));
      want_adam[i] -= 0.01f * mh / (std::sqrt(vh) + 1e-8f);
    }
  }
  ASSERT_OK(be->sgd_momentum_update(n, 0.05f, 0.9f, 1e-4f, g.data(), vel.data(), w_sgd.data()));
  for (int t = 1; t <= 2; ++t)
    ASSERT_OK(be->adam_update(n, 0.01f, 0.9f, 0.999f, 1e-8f, t, g.data(), m.data(), v.data(),
                              w_adam.data()));
  expect_near_all(w_sgd, want_sgd);
  expect_near_all(w_adam, want_adam, 1e-3f);
}

TEST(CpuBackendFactory, RefusesCudaWhenNoDeviceIsAvailable) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  auto b = create_backend({Device::kCuda, 1, 0});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
}

TEST(DeviceParsing, AcceptsCpuAndCudaAndNamesAnythingElse) {
  EXPECT_EQ(*parse_device("cpu"), Device::kCpu);
  EXPECT_EQ(*parse_device("cuda"), Device::kCuda);
  auto bad = parse_device("tpu");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tpu"), std::string::npos);
}

}  // namespace
}  // namespace cadre::kernels

// The CUDA backend against the CPU backend on the same random inputs: every
// kernel must agree to a relative error under 1e-4 (fp32). Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/backend.h"
#include "kernels/buffer.h"
#include "tests/support/status_matchers.h"

namespace cadre::kernels {
namespace {

class CudaVsCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
    cpu_ = std::move(create_backend({Device::kCpu, 2, 0})).value();
    auto g = create_backend({Device::kCuda, 1, 0});
    ASSERT_OK(g);
    gpu_ = std::move(g).value();
  }
  std::vector<float> random(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-1, 1);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
  }
  // Device copy of host values, kept alive by the test.
  float* up(const std::vector<float>& v) {
    buffers_.push_back(std::move(Buffer::Create(gpu_.get(), v.size() * 4 + 4)).value());
    EXPECT_OK(gpu_->copy_from_host(buffers_.back().data(), v.data(), v.size() * 4));
    return buffers_.back().as<float>();
  }
  std::vector<float> down(const float* p, size_t n) {
    std::vector<float> v(n);
    EXPECT_OK(gpu_->copy_to_host(v.data(), p, n * 4));
    return v;
  }
  static void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu) {
    ASSERT_EQ(gpu.size(), cpu.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < gpu.size(); ++i)
      num += (gpu[i] - cpu[i]) * double(gpu[i] - cpu[i]), den += cpu[i] * double(cpu[i]);
    EXPECT_LT(std::sqrt(num / std::max(den, 1e-30)), 1e-4);
  }

  std::unique_ptr<Backend> cpu_, gpu_;
  std::vector<Buffer> buffers_;
};

TEST_F(CudaVsCpu, GemmAgreesForEveryTranspose) {
  const int m = 37, n = 53, k = 129;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto a = random(m * k, 1), b = random(k * n, 2), c = random(m * n, 3);
      float *da = up(a), *db = up(b), *dc = up(c);
      ASSERT_OK(cpu_->gemm(ta, tb, m, n, k, 1.0f, a.data(), b.data(), 0.5f, c.data()));
      ASSERT_OK(gpu_->gemm(ta, tb, m, n, k, 1.0f, da, db, 0.5f, dc));
      expect_close(down(dc, c.size()), c);
    }
}

TEST_F(CudaVsCpu, ConvolutionForwardAndBackwardAgree) {
  ConvShape s{7, 16, 14, 14, 5, 5, 2, 1};
  const int oc = 32;
  const size_t in_n = 7 * 16 * 14 * 14, out_n = 7 * 32 * 14 * 14, w_n = 32 * 16 * 25;
  auto x = random(in_n, 4), w = random(w_n, 5), b = random(oc, 6), dy = random(out_n, 7);
  std::vector<float> y(out_n), dw(w_n), db(oc), dx(in_n);
  float *gx = up(x), *gw = up(w), *gb = up(b), *gdy = up(dy);
  float *gy = up(y), *gdw = up(dw), *gdb = up(db), *gdx = up(dx);
  ASSERT_OK(cpu_->conv2d_forward(s, oc, x.data(), w.data(), b.data(), y.data()));
  ASSERT_OK(gpu_->conv2d_forward(s, oc, gx, gw, gb, gy));
  expect_close(down(gy, out_n), y);
  ASSERT_OK(
      cpu_->conv2d_backward(s, oc, x.data(), w.data(), dy.data(), dw.data(), db.data(), dx.data()));
  ASSERT_OK(gpu_->conv2d_backward(s, oc, gx, gw, gdy, gdw, gdb, gdx));
  expect_close(down(gdw, w_n), dw);
  expect_close(down(gdb, oc), db);
  expect_close(down(gdx, in_n), dx);
}

TEST_F(CudaVsCpu, PoolingActivationsDropoutLossAndOptimizersAgree) {
  ConvShape s{3, 4, 9, 7, 2, 2, 0, 2};
  const size_t in_n = 3 * 4 * 9 * 7, out_n = 3 * 4 * 4 * 3;
  auto x = random(in_n, 8), dy = random(out_n, 9);
  std::vector<float> y(out_n), dx(in_n);
  std::vector<int32_t> arg(out_n);
  float *gx = up(x), *gy = up(y), *gdy = up(dy), *gdx = up(dx);
  auto garg_buf = std::move(Buffer::Create(gpu_.get(), out_n * 4)).value();
  ASSERT_OK(cpu_->maxpool_forward(s, x.data(), y.data(), arg.data()));
  ASSERT_OK(gpu_->maxpool_forward(s, gx, gy, garg_buf.as<int32_t>()));
  expect_close(down(gy, out_n), y);
  ASSERT_OK(cpu_->maxpool_backward(s, dy.data(), arg.data(), dx.data()));
  ASSERT_OK(gpu_->maxpool_backward(s, gdy, garg_buf.as<int32_t>(), gdx));
  expect_close(down(gdx, in_n), dx);

  std::vector<float> r(in_n), mask(in_n);
  float *gr = up(r), *gmask = up(mask);
  ASSERT_OK(cpu_->dropout_forward(in_n, 0.3f, 77, x.data(), r.data(), mask.data()));
  ASSERT_OK(gpu_->dropout_forward(in_n, 0.3f, 77, gx, gr, gmask));
  EXPECT_EQ(down(gmask, in_n), mask) << "dropout masks must be identical";
  ASSERT_OK(cpu_->relu_forward(in_n, x.data(), r.data()));
  ASSERT_OK(gpu_->relu_forward(in_n, gx, gr));
  expect_close(down(gr, in_n), r);

  const int n = 33, classes = 10;
  auto logits = random(n * classes, 10);
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = i % classes;
  std::vector<float> grad(n * classes);
  float *glog = up(logits), *ggrad = up(grad);
  auto glab = std::move(Buffer::Create(gpu_.get(), n * 4)).value();
  ASSERT_OK(gpu_->copy_from_host(glab.data(), labels.data(), n * 4));
  auto c = cpu_->softmax_cross_entropy(n, classes, logits.data(), labels.data(), 0.5f, grad.data());
  auto g = gpu_->softmax_cross_entropy(n, classes, glog, glab.as<int32_t>(), 0.5f, ggrad);
  ASSERT_TRUE(c.ok() && g.ok());
  EXPECT_NEAR(g->loss_sum, c->loss_sum, 1e-4 * c->loss_sum);
  EXPECT_EQ(g->correct, c->correct);
  expect_close(down(ggrad, grad.size()), grad);

  auto w = random(1000, 11), gr2 = random(1000, 12);
  std::vector<float> m(1000, 0.0f), v(1000, 0.0f);
  float *gw = up(w), *gg = up(gr2), *gm = up(m), *gv = up(v);
  for (int t = 1; t <= 3; ++t) {
    ASSERT_OK(cpu_->adam_update(1000, 0.01f, 0.9f, 0.999f, 1e-8f, t, gr2.data(), m.data(), v.data(),
                                w.data()));
    ASSERT_OK(gpu_->adam_update(1000, 0.01f, 0.9f, 0.999f, 1e-8f, t, gg, gm, gv, gw));
  }
  expect_close(down(gw, 1000), w);
}

}  // namespace
}  // namespace cadre::kernels

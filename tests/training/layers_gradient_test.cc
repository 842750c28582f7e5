// Finite-difference gradient checks for every layer and for the loss: the
// analytical backward pass must agree with central differences of the scalar
// L = sum(y * r) for a fixed random r, with respect to every parameter and input.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/support/status_matchers.h"
#include "training/layers/layer_factory.h"
#include "training/softmax_cross_entropy.h"

namespace cadre::training {
namespace {

using nlohmann::json;

class GradientCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = kernels::create_backend({kernels::Device::kCpu, 1, 0});
    ASSERT_OK(b);
    backend_ = std::move(b).value();
  }

  std::vector<float> random(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng_);
    return v;
  }

  Tensor tensor(const Shape& shape, const std::vector<float>& values) {
    auto t = Tensor::Create(backend_.get(), shape);
    EXPECT_OK(t);
    EXPECT_OK(t->copy_from_host(values.data(), values.size()));
    return std::move(t).value();
  }

  // Checks d(sum(y*r))/d(input) and d/d(each parameter) for a layer built from spec.
  void check(const json& spec, const Shape& in_shape, int batch, std::vector<float> x_values,
             float eps = 1e-2f, float tol = 2e-2f) {
    auto made = make_layer(spec, in_shape);
    ASSERT_OK(made);
    auto layer = std::move(made).value();
    std::vector<Tensor> values, grads;
    std::vector<std::vector<float>> host_values;
    for (const auto& p : layer->param_specs()) {
      host_values.push_back(random(shape_size(p.shape), -0.5f, 0.5f));
      values.push_back(tensor(p.shape, host_values.back()));
      grads.push_back(tensor(p.shape, std::vector<float>(shape_size(p.shape), 0.0f)));
    }
    layer->bind(values, grads);
    Tensor x = tensor(batched(batch, in_shape), x_values);
    Tensor y = tensor({0}, {});
    const Pass pass{true, 7};
    ASSERT_OK(layer->forward(x, &y, pass));
    const auto r = random(y.size(), -1.0f, 1.0f);
    Tensor dy = tensor(y.shape(), r), dx = tensor({0}, {});
    ASSERT_OK(layer->backward(x, y, dy, &dx));

    auto objective = [&]() {
      Tensor out = tensor({0}, {});
      EXPECT_OK(layer->forward(x, &out, pass));
      auto host = *out.to_host();
      double s = 0;
      for (size_t i = 0; i < host.size(); ++i) s += static_cast<double>(host[i]) * r[i];
      return s;
    };
    auto compare = [&](Tensor& wrt, std::vector<float> base, const std::vector<float>& analytic,
                       const std::string& what) {
      ASSERT_EQ(base.size(), analytic.size()) << what;
      for (size_t i = 0; i < base.size(); ++i) {
        auto plus = base, minus = base;
        plus[i] += eps, minus[i] -= eps;
        ASSERT_OK(wrt.copy_from_host(plus.data(), plus.size()));
        const double lp = objective();
        ASSERT_OK(wrt.copy_from_host(minus.data(), minus.size()));
        const double lm = objective();
        const double numeric = (lp - lm) / (2.0 * eps);
        ASSERT_NEAR(analytic[i], numeric, tol * std::max(1.0, std::fabs(numeric)))
            << spec.dump() << " d/d" << what << "[" << i << "]";
      }
      ASSERT_OK(wrt.copy_from_host(base.data(), base.size()));
    };
    compare(x, x_values, *dx.to_host(), "input");
    for (size_t p = 0; p < values.size(); ++p)
      compare(values[p], host_values[p], *grads[p].to_host(), layer->param_specs()[p].name);
  }

  std::mt19937 rng_{1234};
  std::unique_ptr<kernels::Backend> backend_;
};

TEST_F(GradientCheck, DenseMatchesFiniteDifferences) {
  check({{"type", "dense"}, {"out", 5}}, {7}, 3, random(21, -1, 1));
}

TEST_F(GradientCheck, Conv2DMatchesFiniteDifferencesWithPadding) {
  check({{"type", "conv2d"}, {"out_channels", 3}, {"kernel", 3}, {"pad", 1}}, {2, 5, 6}, 2,
        random(2 * 2 * 5 * 6, -1, 1));
}

TEST_F(GradientCheck, Conv2DMatchesFiniteDifferencesWithStrideAndNoPadding) {
  check({{"type", "conv2d"}, {"out_channels", 2}, {"kernel", 3}, {"stride", 2}}, {3, 7, 5}, 2,
        random(2 * 3 * 7 * 5, -1, 1));
}

TEST_F(GradientCheck, ReluMatchesFiniteDifferencesAwayFromTheKink) {
  auto x = random(40, 0.05f, 1.0f);
  for (size_t i = 0; i < x.size(); i += 2) x[i] = -x[i];  // half negative, none near 0
  check({{"type", "relu"}}, {4, 5}, 2, x, 1e-3f);
}

TEST_F(GradientCheck, MaxPoolMatchesFiniteDifferencesWithDistinctInputs) {
  // Distinct values at least 0.01 apart: the arg-max cannot flip within eps.
  std::vector<float> x(2 * 2 * 6 * 6);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(i);
  std::shuffle(x.begin(), x.end(), rng_);
  check({{"type", "maxpool2d"}, {"window", 2}, {"stride", 2}}, {2, 6, 6}, 2, x, 1e-3f);
}

TEST_F(GradientCheck, FlattenPassesGradientsThrough) {
  check({{"type", "flatten"}}, {2, 3, 4}, 3, random(72, -1, 1));
}

TEST_F(GradientCheck, DropoutMatchesFiniteDifferencesForAFixedMask) {
  check({{"type", "dropout"}, {"p", 0.4}}, {50}, 2, random(100, -1, 1));
}

TEST_F(GradientCheck, SoftmaxCrossEntropyMatchesFiniteDifferences) {
  const int n = 4, classes = 6;
  auto logits_host = random(n * classes, -3, 3);
  std::vector<int32_t> labels{0, 5, 2, 2};
  Tensor logits = tensor({n, classes}, logits_host);
  SoftmaxCrossEntropy loss(backend_.get());
  ASSERT_OK(loss.set_labels(labels.data(), n));
  ASSERT_OK(loss.compute(logits, true));
  auto analytic = *loss.gradient().to_host();
  const float eps = 1e-2f;
  for (size_t i = 0; i < logits_host.size(); ++i) {
    auto p = logits_host, m = logits_host;
    p[i] += eps, m[i] -= eps;
    ASSERT_OK(logits.copy_from_host(p.data(), p.size()));
    double lp = loss.compute(logits, false)->loss_sum / n;
    ASSERT_OK(logits.copy_from_host(m.data(), m.size()));
    double lm = loss.compute(logits, false)->loss_sum / n;
    EXPECT_NEAR(analytic[i], (lp - lm) / (2 * eps), 1e-3) << "logit " << i;
  }
}

TEST(LayerFactory, RejectsUnknownTypesAndShapesThatDoNotFit) {
  auto unknown = make_layer({{"type", "lstm"}}, {4});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("lstm"), std::string::npos);
  EXPECT_FALSE(make_layer({{"type", "dense"}, {"out", 3}}, {2, 2, 2}).ok());
  EXPECT_FALSE(
      make_layer({{"type", "conv2d"}, {"out_channels", 3}, {"kernel", 9}}, {1, 4, 4}).ok());
  EXPECT_FALSE(make_layer({{"type", "dense"}, {"out", -1}}, {4}).ok());
  EXPECT_FALSE(make_layer({{"type", "dropout"}, {"p", 1.0}}, {4}).ok());
}

}  // namespace
}  // namespace cadre::training

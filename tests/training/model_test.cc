#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/status_matchers.h"
#include "training/model.h"
#include "training/softmax_cross_entropy.h"

namespace cadre::training {
namespace {

std::unique_ptr<kernels::Backend> cpu() {
  return std::move(kernels::create_backend({kernels::Device::kCpu, 2, 0})).value();
}

TEST(Model, BuildsTheCatalogueArchitecturesWithFlatParameters) {
  auto be = cpu();
  for (const char* name : {"mlp", "cnn"}) {
    auto def = model_definition(name);
    ASSERT_OK(def);
    auto model = Model::Create(be.get(), *def);
    ASSERT_OK(model);
    size_t total = 0;
    for (const auto& p : (*model)->param_info()) {
      EXPECT_EQ(p.offset, total) << p.name;
      total += shape_size(p.shape);
    }
    EXPECT_EQ((*model)->parameters().size(), total);
    EXPECT_EQ((*model)->gradients().size(), total);
  }
  EXPECT_FALSE(model_definition("resnet").ok());
}

TEST(Model, SameSeedGivesSameParametersAndDifferentSeedDoesNot) {
  auto be = cpu();
  auto def = *model_definition("cnn");
  auto a = std::move(Model::Create(be.get(), def)).value();
  auto b = std::move(Model::Create(be.get(), def)).value();
  ASSERT_OK(a->initialize(5));
  ASSERT_OK(b->initialize(5));
  EXPECT_EQ(*a->parameters().to_host(), *b->parameters().to_host());
  ASSERT_OK(b->initialize(6));
  EXPECT_NE(*a->parameters().to_host(), *b->parameters().to_host());
}

TEST(Model, CnnGradientMatchesFiniteDifferencesThroughEveryLayer) {
  // The full composition: conv, relu, pool, flatten, dense, dropout, loss.
  auto be = cpu();
  auto model = std::move(Model::Create(be.get(), *model_definition("cnn"))).value();
  ASSERT_OK(model->initialize(3));
  const int n = 2;
  std::vector<float> x_host(n * 28 * 28);
  for (size_t i = 0; i < x_host.size(); ++i) x_host[i] = std::sin(0.37 * i);
  auto x = std::move(Tensor::Create(be.get(), {n, 1, 28, 28})).value();
  ASSERT_OK(x.copy_from_host(x_host.data(), x_host.size()));
  std::vector<int32_t> labels{3, 8};
  SoftmaxCrossEntropy loss(be.get());
  ASSERT_OK(loss.set_labels(labels.data(), n));
  const Pass pass{true, 11};
  auto loss_at = [&]() {
    EXPECT_OK(model->forward(x, pass));
    return loss.compute(model->output(), false)->loss_sum / n;
  };
  ASSERT_OK(model->forward(x, pass));
  ASSERT_OK(loss.compute(model->output(), true));
  ASSERT_OK(model->backward(x, loss.gradient()));
  auto grads = *model->gradients().to_host();
  auto params = *model->parameters().to_host();
  // Probe the largest-gradient entry of every parameter tensor: small gradients
  // drown in float rounding, large ones must match to a few percent.
  for (const auto& info : model->param_info()) {
    size_t best = info.offset;
    for (size_t i = info.offset; i < info.offset + shape_size(info.shape); ++i)
      if (std::fabs(grads[i]) > std::fabs(grads[best])) best = i;
    const float eps = 1e-2f;
    auto p = params;
    p[best] += eps;
    ASSERT_OK(model->parameters().copy_from_host(p.data(), p.size()));
    const double lp = loss_at();
    p[best] -= 2 * eps;
    ASSERT_OK(model->parameters().copy_from_host(p.data(), p.size()));
    const double lm = loss_at();
    ASSERT_OK(model->parameters().copy_from_host(params.data(), params.size()));
    const double numeric = (lp - lm) / (2 * eps);
    EXPECT_NEAR(grads[best], numeric, 0.05 * std::fabs(numeric) + 1e-4) << info.name;
  }
}

}  // namespace
}  // namespace cadre::training

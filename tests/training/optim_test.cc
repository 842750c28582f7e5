#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"
#include "training/optim/lr_schedule.h"
#include "training/optim/optimizer.h"

namespace cadre::training {
namespace {

TEST(LrSchedule, CosineStartsAtBaseAndEndsAtTheFloor) {
  auto s = LrSchedule::Create({"cosine", 0.1f, 0, 3, 0.5f, 0.1f}, 10, 100);
  ASSERT_OK(s);
  EXPECT_FLOAT_EQ(s->at(0), 0.1f);
  EXPECT_NEAR(s->at(500), 0.055f, 1e-6);
  EXPECT_NEAR(s->at(1000), 0.01f, 1e-6);
}

TEST(LrSchedule, StepDecaysEveryStepEpochsAndWarmupRampsLinearly) {
  auto s = LrSchedule::Create({"step", 1.0f, 0, 2, 0.5f, 0}, 10, 10);
  ASSERT_OK(s);
  EXPECT_FLOAT_EQ(s->at(19), 1.0f);
  EXPECT_FLOAT_EQ(s->at(20), 0.5f);
  EXPECT_FLOAT_EQ(s->at(45), 0.25f);
  auto w = LrSchedule::Create({"constant", 1.0f, 4, 2, 0.5f, 0}, 1, 10);
  EXPECT_FLOAT_EQ(w->at(0), 0.25f);
  EXPECT_FLOAT_EQ(w->at(3), 1.0f);
  EXPECT_FLOAT_EQ(w->at(9), 1.0f);
}

TEST(LrSchedule, RejectsUnknownKindsAndNonPositiveRates) {
  EXPECT_FALSE(LrSchedule::Create({"linear", 0.1f}, 1, 1).ok());
  EXPECT_FALSE(LrSchedule::Create({"constant", 0.0f}, 1, 1).ok());
}

TEST(Optimizer, BothKindsDescendAQuadratic) {
  auto be = std::move(kernels::create_backend({kernels::Device::kCpu, 1, 0})).value();
  for (const char* kind : {"sgd", "adam"}) {
    OptimizerOptions o;
    o.kind = kind;
    auto opt = Optimizer::Create(o, be.get(), 3);
    ASSERT_OK(opt);
    auto w = std::move(Tensor::Create(be.get(), {3})).value();
    auto g = std::move(Tensor::Create(be.get(), {3})).value();
    std::vector<float> start{3, -2, 1};
    ASSERT_OK(w.copy_from_host(start.data(), 3));
    for (int i = 0; i < 300; ++i) {
      auto wh = *w.to_host();  // gradient of 0.5 |w|^2 is w
      ASSERT_OK(g.copy_from_host(wh.data(), 3));
      ASSERT_OK((*opt)->step(0.05f, g, &w));
    }
    const std::vector<float> final_w = *w.to_host();
    for (float v : final_w) EXPECT_NEAR(v, 0.0f, 0.05f) << kind;
    EXPECT_EQ((*opt)->steps(), 300);
  }
  OptimizerOptions bad;
  bad.kind = "lbfgs";
  EXPECT_FALSE(Optimizer::Create(bad, be.get(), 3).ok());
}

}  // namespace
}  // namespace cadre::training

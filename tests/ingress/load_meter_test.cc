#include "ingress/load_meter.h"

#include <gtest/gtest.h>

namespace cadre::ingress {
namespace {

using namespace std::chrono_literals;
using Clock = LoadMeter::Clock;

TEST(LoadMeter, ReportsTimeAveragedConcurrencyAndRatePerRevision) {
  LoadMeter meter;
  const auto t0 = Clock::now();
  // Two requests overlapping for half of a one-second interval, one for the whole.
  meter.started("fmnist", "fmnist-00001", t0);
  meter.started("fmnist", "fmnist-00001", t0 + 250ms);
  meter.finished("fmnist", "fmnist-00001", t0 + 750ms);
  meter.started("fmnist", "fmnist-00002", t0);
  auto loads = meter.take(t0 + 1s);
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0].revision, "fmnist-00001");
  EXPECT_NEAR(loads[0].concurrency, 1.5, 1e-6);
  EXPECT_NEAR(loads[0].rps, 2.0, 1e-6);
  EXPECT_NEAR(loads[1].concurrency, 1.0, 1e-6);
  // The next interval: one still in flight on each, no new requests.
  loads = meter.take(t0 + 2s);
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_NEAR(loads[0].concurrency, 1.0, 1e-6);
  EXPECT_NEAR(loads[0].rps, 0.0, 1e-6);
}

TEST(LoadMeter, AnIdleRevisionIsReportedAsZeroSoItsAutoscalerScalesIn) {
  LoadMeter meter;
  const auto t0 = Clock::now();
  meter.started("s", "s-00001", t0);
  meter.finished("s", "s-00001", t0 + 100ms);
  (void)meter.take(t0 + 1s);
  for (int i = 2; i < 5; ++i) {
    auto loads = meter.take(t0 + std::chrono::seconds(i));
    ASSERT_EQ(loads.size(), 1u);
    EXPECT_EQ(loads[0].concurrency, 0);
  }
  EXPECT_TRUE(meter.take(t0 + 11min).empty());  // forgotten after ten idle minutes
}

}  // namespace
}  // namespace cadre::ingress

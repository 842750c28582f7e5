#include "ingress/traffic_history.h"

#include <gtest/gtest.h>

#include "ingress/ingress_metrics.h"

namespace cadre::ingress {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // a wall-clock ms on a 5 s boundary

TrafficHistoryOptions five_seconds(size_t samples = 720) {
  TrafficHistoryOptions o;
  o.interval = std::chrono::milliseconds(5000);
  o.samples = samples;
  return o;
}

TEST(TrafficHistory, CountsEachIntervalsRequestsErrorsAndLatencyPercentiles) {
  TrafficHistory h(five_seconds());
  for (int i = 1; i <= 100; ++i) {
    h.track("fmnist", kT0 + i * 10, {});
    h.answered("fmnist", kT0 + i * 10, i % 10 == 0 ? 503 : 200, static_cast<double>(i));
  }
  EXPECT_TRUE(h.samples("fmnist").empty()) << "the interval is still open";
  h.roll("fmnist", kT0 + 5000, {3, 2});
  const auto samples = h.samples("fmnist");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].end_ms, kT0 + 5000);
  EXPECT_EQ(samples[0].requests, 100u);
  EXPECT_EQ(samples[0].errors, 10u);
  EXPECT_EQ(samples[0].p50_ms, 50.0);
  EXPECT_EQ(samples[0].p90_ms, 90.0);
  EXPECT_EQ(samples[0].p99_ms, 99.0);
  EXPECT_EQ(samples[0].in_flight, 3);
  EXPECT_EQ(samples[0].held, 2);
}

TEST(TrafficHistory, QuietIntervalsAreZeroWithTheGaugesTheyEndedWith) {
  TrafficHistory h(five_seconds());
  h.track("a", kT0 + 1, {});
  h.answered("a", kT0 + 1, 200, 7);
  h.track("a", kT0 + 17'000, {1, 4});  // three intervals later
  const auto samples = h.samples("a");
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].requests, 1u);
  EXPECT_EQ(samples[0].p50_ms, 7.0);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(samples[i].end_ms, kT0 + 5000 * static_cast<int64_t>(i + 1));
    EXPECT_EQ(samples[i].requests, 0u);
    EXPECT_FALSE(samples[i].p50_ms.has_value()) << "no latency without requests";
    EXPECT_EQ(samples[i].held, 4);
  }
}

TEST(TrafficHistory, KeepsOnlyTheNewestSamplesEvenAfterADaysSilence) {
  TrafficHistory h(five_seconds(12));
  h.track("a", kT0, {});
  h.answered("a", kT0, 200, 1);
  h.roll("a", kT0 + 86'400'000, {});
  const auto samples = h.samples("a");
  ASSERT_EQ(samples.size(), 12u);
  EXPECT_EQ(samples.back().end_ms, kT0 + 86'400'000);
  EXPECT_EQ(samples.front().end_ms, kT0 + 86'400'000 - 11 * 5000);
}

TEST(TrafficHistory, ABusyIntervalsLatenciesAreABoundedUniformSample) {
  TrafficHistoryOptions o = five_seconds();
  o.max_latencies = 1000;
  TrafficHistory h(o);
  for (int i = 1; i <= 100'000; ++i) h.answered("a", kT0 + 1, 200, i / 1000.0);
  h.roll("a", kT0 + 5000, {});
  const auto s = h.samples("a").at(0);
  EXPECT_EQ(s.requests, 100'000u) << "every request counts, sampled or not";
  EXPECT_NEAR(*s.p50_ms, 50.0, 5.0);
  EXPECT_NEAR(*s.p90_ms, 90.0, 3.0);
}

TEST(TrafficHistory, AReadMakesNoHistoryAndTheLeastRecentServiceGoesFirst) {
  TrafficHistoryOptions o = five_seconds();
  o.max_services = 2;
  TrafficHistory h(o);
  h.roll("never", kT0 + 10'000, {});
  EXPECT_TRUE(h.samples("never").empty());
  h.answered("old", kT0, 200, 1);
  h.answered("new", kT0 + 1000, 200, 1);
  h.answered("newest", kT0 + 2000, 200, 1);
  h.roll("old", kT0 + 5000, {});
  h.roll("new", kT0 + 5000, {});
  EXPECT_TRUE(h.samples("old").empty()) << "forgotten for newest";
  EXPECT_EQ(h.samples("new").size(), 1u);
}

TEST(TrafficHistory, AClockSteppedBackAddsToTheOpenInterval) {
  TrafficHistory h(five_seconds());
  h.answered("a", kT0 + 6000, 200, 1);
  h.track("a", kT0 + 1000, {});
  h.answered("a", kT0 + 1000, 200, 1);
  h.roll("a", kT0 + 10'000, {});
  const auto samples = h.samples("a");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].requests, 2u);
}

TEST(IngressMetricsTraffic, RecordsWhatTheProxyReportsWithInFlightAndHeldGauges) {
  int64_t now = kT0;
  IngressMetrics metrics(five_seconds(), [&now] { return now; });
  metrics.started("fmnist");
  metrics.started("fmnist");
  metrics.held("fmnist", /*cold=*/true);
  now += 100;
  metrics.finished("fmnist", "fmnist-1", 200, std::chrono::milliseconds(12));
  now += 5000;
  const auto samples = metrics.traffic("fmnist");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].requests, 1u);
  EXPECT_EQ(samples[0].p50_ms, 12.0);
  EXPECT_EQ(samples[0].in_flight, 1) << "one still in flight when the interval ended";
  EXPECT_EQ(samples[0].held, 1);
  EXPECT_TRUE(metrics.traffic("other").empty());
}

}  // namespace
}  // namespace cadre::ingress

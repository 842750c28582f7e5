#include "actors/autoscaler.h"

#include <gtest/gtest.h>

namespace cadre::actors::autoscaler_test {
namespace {

// Feeds one ingress's report every 250 ms from `from_ms` to `to_ms`.
void feed(RevisionAutoscaler& a, int64_t from_ms, int64_t to_ms, double value,
          const std::string& source = "ingress-1") {
  for (int64_t t = from_ms; t <= to_ms; t += 250) a.observe(source, t, value);
}

TEST(Autoscaler, SteadyLoadAsksForTheLoadOverTheTargetPerReplica) {
  RevisionAutoscaler a{AutoscalePolicy{}};
  feed(a, 0, 60000, 16);
  EXPECT_EQ(a.decide(60000, 1, 4, 1, 10).desired, 4);
  feed(a, 60250, 120000, 10);
  EXPECT_EQ(a.decide(120000, 4, 4, 1, 10).desired, 3);  // ceil(10 / 4)
}

TEST(Autoscaler, ALoadStepPanicsAndScalesOutWithinThePanicWindow) {
  RevisionAutoscaler a{AutoscalePolicy{}};
  feed(a, 0, 60000, 1);
  EXPECT_EQ(a.decide(60000, 1, 4, 1, 10).desired, 1);
  // Concurrency 32 from 60 s on: the stable window alone would take a minute.
  int64_t t = 60250;
  int32_t desired = 1;
  for (; t <= 66000 && desired < 8; t += 250) {
    a.observe("ingress-1", t, 32);
    const auto d = a.decide(t, desired, 4, 1, 10);
    desired = d.desired;
    if (desired > 1) {
      EXPECT_TRUE(d.panic);
    }
  }
  EXPECT_EQ(desired, 8);
  EXPECT_LE(t - 60000, 6000) << "scaled out only after the panic window";
}

TEST(Autoscaler, NeverScalesInWhilePanickingAndScalesInAfterTheStableWindow) {
  RevisionAutoscaler a{AutoscalePolicy{}};
  feed(a, 0, 60000, 1);
  feed(a, 60250, 66000, 32);
  EXPECT_EQ(a.decide(66000, 1, 4, 1, 10).desired, 8);
  // The load drops back to 1: still 8 while the panic lasts (a stable window).
  feed(a, 66250, 100000, 1);
  EXPECT_EQ(a.decide(100000, 8, 4, 1, 10).desired, 8);
  feed(a, 100250, 200000, 1);
  const auto d = a.decide(200000, 8, 4, 1, 10);
  EXPECT_FALSE(d.panic);
  EXPECT_EQ(d.desired, 1);
}

TEST(Autoscaler, ScalesToZeroOnlyAfterAWholeStableWindowWithoutARequest) {
  RevisionAutoscaler a{AutoscalePolicy{}};
  feed(a, 0, 30000, 0);
  EXPECT_EQ(a.decide(30000, 1, 4, 0, 4).desired, 1) << "idle, but not heard for a whole window";
  feed(a, 30250, 60000, 0);
  EXPECT_EQ(a.decide(60000, 1, 4, 0, 4).desired, 0);
  RevisionAutoscaler busy{AutoscalePolicy{}};
  feed(busy, 0, 60000, 0);
  busy.observe("ingress-1", 60250, 0.01);  // one short request
  feed(busy, 60500, 119000, 0);
  EXPECT_EQ(busy.decide(119000, 1, 4, 0, 4).desired, 1) << "a request within the window";
  feed(busy, 119250, 121000, 0);
  EXPECT_EQ(busy.decide(121000, 1, 4, 0, 4).desired, 0);
}

TEST(Autoscaler, ARequestHeldAtZeroAsksForAReplicaAtOnce) {
  RevisionAutoscaler a{AutoscalePolicy{}};
  feed(a, 0, 120000, 0);
  EXPECT_EQ(a.decide(120000, 0, 4, 0, 4).desired, 0);
  a.observe("ingress-1", 120010, 0.001);  // held for the last few microseconds of a report
  EXPECT_EQ(a.decide(120010, 0, 100, 0, 4).desired, 1);
  RevisionAutoscaler burst{AutoscalePolicy{}};
  feed(burst, 0, 120000, 0);
  burst.observe("ingress-1", 120250, 12);  // twelve held: the panic window asks for three
  EXPECT_EQ(burst.decide(120250, 0, 4, 0, 4).desired, 3);
}

TEST(Autoscaler, StaysWithinMinAndMaxAndAddsUpIngresses) {
  RevisionAutoscaler a{AutoscalePolicy{}};
  feed(a, 0, 60000, 40, "ingress-1");
  feed(a, 0, 60000, 40, "ingress-2");
  EXPECT_EQ(a.decide(60000, 10, 4, 2, 12).desired, 12);  // 80 / 4 = 20, capped at 12
  RevisionAutoscaler idle{AutoscalePolicy{}};
  feed(idle, 0, 60000, 0);
  EXPECT_EQ(idle.decide(60000, 3, 4, 2, 12).desired, 2);  // never below min
  RevisionAutoscaler unheard{AutoscalePolicy{}};
  EXPECT_EQ(unheard.decide(0, 3, 4, 1, 12).desired, 3);  // no samples: no change
}

}  // namespace
}  // namespace cadre::actors::autoscaler_test

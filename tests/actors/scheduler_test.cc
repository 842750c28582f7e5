#include "actors/scheduler.h"

#include <gtest/gtest.h>

namespace cadre::actors {
namespace {

spec::ResourceRequest request(int64_t cpu, int64_t memory = 0, int32_t gpus = 0) {
  return spec::ResourceRequest{cpu, memory, gpus};
}

TEST(Scheduler, WaitsWhileNoNodeIsRegistered) {
  Scheduler s;
  Placement p;
  EXPECT_EQ(s.place("a", request(1000), &p), Scheduler::Fit::kWait);
}

TEST(Scheduler, PlacesFirstFitInNodeOrderAndPacks) {
  Scheduler s;
  s.upsert_node({"n2", 7, 4000, 1 << 30, 0});
  s.upsert_node({"n1", 3, 4000, 1 << 30, 0});
  Placement p;
  ASSERT_EQ(s.place("a", request(3000), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p.node, "n1");
  EXPECT_EQ(p.epoch, 3u);
  ASSERT_EQ(s.place("b", request(1000), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p.node, "n1");  // packs onto the first node while it fits
  ASSERT_EQ(s.place("c", request(1000), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p.node, "n2");
  EXPECT_EQ(s.allocated_on("n1").cpu_millis, 4000);
}

TEST(Scheduler, HandsOutDistinctGpuIndicesAndTakesThemBack) {
  Scheduler s;
  s.upsert_node({"gpu", 1, 64000, 1ll << 36, 4});
  Placement a, b, c;
  ASSERT_EQ(s.place("a", request(0, 0, 2), &a), Scheduler::Fit::kPlaced);
  ASSERT_EQ(s.place("b", request(0, 0, 2), &b), Scheduler::Fit::kPlaced);
  EXPECT_EQ(a.gpu_indices, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(b.gpu_indices, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(s.place("c", request(0, 0, 1), &c), Scheduler::Fit::kWait);
  s.release("a");
  ASSERT_EQ(s.place("c", request(0, 0, 1), &c), Scheduler::Fit::kPlaced);
  EXPECT_EQ(c.gpu_indices, (std::vector<int32_t>{0}));
}

TEST(Scheduler, RequestLargerThanEveryNodeNeverFitsAndSaysWhy) {
  Scheduler s;
  s.upsert_node({"small", 1, 2000, 1 << 30, 0});
  Placement p;
  EXPECT_EQ(s.place("a", request(4000), &p), Scheduler::Fit::kNever);
  const std::string why = s.never_fits_reason(request(4000));
  EXPECT_NE(why.find("cpu=4"), std::string::npos) << why;
  EXPECT_NE(why.find("largest of 1 nodes: cpu=2"), std::string::npos) << why;
}

TEST(Scheduler, UnschedulableNodesGetNothingButStillCountForNever) {
  Scheduler s;
  s.upsert_node({"n", 1, 2000, 1 << 30, 0});
  s.set_schedulable("n", false);
  Placement p;
  EXPECT_EQ(s.place("a", request(1000), &p), Scheduler::Fit::kWait);
  s.set_schedulable("n", true);
  EXPECT_EQ(s.place("a", request(1000), &p), Scheduler::Fit::kPlaced);
}

TEST(Scheduler, ReleaseIsIdempotentAndReserveReplacesAnEarlierHold) {
  Scheduler s;
  s.upsert_node({"n", 1, 2000, 1 << 30, 0});
  s.reserve("a", "n", request(1500), {});
  s.reserve("a", "n", request(1500), {});
  EXPECT_EQ(s.allocated_on("n").cpu_millis, 1500);
  s.release("a");
  s.release("a");
  EXPECT_EQ(s.allocated_on("n").cpu_millis, 0);
}

}  // namespace
}  // namespace cadre::actors

#include "actors/write_barrier.h"

#include <gtest/gtest.h>

#include <string>

namespace cadre::actors::write_barrier_test {
namespace {

using namespace std::chrono_literals;
using Barrier = WriteBarrier<std::string>;

TEST(WriteBarrier, WorkWaitsForItsWriteAndALaterWriteReleasesEarlierWork) {
  Barrier barrier(StoreRetryPolicy{100ms, 1s, 3});
  const uint64_t first = barrier.write({"launch a"});
  const uint64_t second = barrier.write({"ack b", "publish"});
  EXPECT_LT(first, second);
  // The first write failed, but the second holds its changes: both lots are free.
  EXPECT_TRUE(barrier.failed(first).superseded);
  EXPECT_EQ(barrier.stored(second), (std::vector<std::string>{"launch a", "ack b", "publish"}));
  EXPECT_TRUE(barrier.stored(second).empty()) << "released once";
}

TEST(WriteBarrier, FailuresReleaseNothingAndBackOffDoublingToTheCap) {
  Barrier barrier(StoreRetryPolicy{100ms, 350ms, 10});
  barrier.write({"launch"});
  std::vector<int64_t> delays;
  for (int i = 0; i < 4; ++i) {
    auto f = barrier.failed(barrier.write({}));
    ASSERT_TRUE(f.retry_in.has_value());
    delays.push_back(f.retry_in->count());
    ASSERT_TRUE(barrier.retry_due());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 350, 350}));
  EXPECT_TRUE(barrier.stored(barrier.write({})).size() == 1) << "the launch, held all along";
}

TEST(WriteBarrier, OneRetryIsScheduledAtATime) {
  Barrier barrier(StoreRetryPolicy{100ms, 1s, 10});
  EXPECT_TRUE(barrier.failed(barrier.write({})).retry_in.has_value());
  EXPECT_FALSE(barrier.failed(barrier.write({})).retry_in.has_value()) << "one is pending";
  ASSERT_TRUE(barrier.retry_due());
  EXPECT_TRUE(barrier.failed(barrier.write({})).retry_in.has_value());
}

TEST(WriteBarrier, GivingUpIsSaidOnceWhenTheFailuresPassTheLimit) {
  Barrier barrier(StoreRetryPolicy{1ms, 1ms, 2});
  int give_ups = 0;
  for (int i = 0; i < 6; ++i) {
    auto f = barrier.failed(barrier.write({}));
    give_ups += f.give_up;
    if (f.give_up) {
      EXPECT_EQ(f.failures, 3);
    }
    barrier.retry_due();
  }
  EXPECT_EQ(give_ups, 1);
  // Success starts the count over; no write is owed any more.
  barrier.stored(barrier.write({}));
  EXPECT_FALSE(barrier.retry_due());
}

TEST(WriteBarrier, KeepOnlyDropsTheWorkThatMustNotHappen) {
  Barrier barrier(StoreRetryPolicy{});
  const uint64_t seq = barrier.write({"launch a", "finish delete", "launch b"});
  barrier.keep_only([](const std::string& w) { return w.rfind("launch", 0) != 0; });
  EXPECT_EQ(barrier.stored(seq), std::vector<std::string>{"finish delete"});
}

}  // namespace
}  // namespace cadre::actors::write_barrier_test

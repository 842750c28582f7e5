#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "kernels/cpu/thread_pool.h"

namespace cadre::kernels {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnceForAnySizeAndThreadCount) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}}) {
      for (int round = 0; round < 20; ++round) {
        std::vector<std::atomic<int>> hits(n);
        pool.parallel_for(n, 1, [&](size_t lo, size_t hi) {
          for (size_t i = lo; i < hi; ++i) hits[i]++;
        });
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n " << n << " i " << i;
      }
    }
  }
}

TEST(ThreadPool, KeepsChunksAtLeastTheGrainLong) {
  ThreadPool pool(4);
  std::atomic<int> chunks{0};
  pool.parallel_for(10, 8, [&](size_t lo, size_t hi) { chunks++; });
  EXPECT_EQ(chunks.load(), 1);
}

}  // namespace
}  // namespace cadre::kernels

// A small fork-join pool for the CPU kernels' own loops. Workers block on a
// condition variable between loops instead of spinning: OpenMP's default
// busy-wait kept cores hot while OpenBLAS's threads needed them, which made two
// threads slower than one (see bench/RESULTS.md).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cadre::kernels {

class ThreadPool {
 public:
  // threads - 1 workers; the calling thread runs the first chunk itself.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on contiguous chunks covering [0, n), at most one
  // chunk per thread and none smaller than grain; returns when all are done.
  // Not re-entrant: one loop at a time, from one thread (the backend's owner).
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  // Guarded by mu_: the current loop, its generation, and how many workers
  // still have to finish it.
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  size_t n_ = 0, chunks_ = 0;
  uint64_t generation_ = 0;
  int outstanding_ = 0;
  bool stop_ = false;
};

}  // namespace cadre::kernels

#include "kernels/cpu/thread_pool.h"

#include <algorithm>

namespace cadre::kernels {

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  while (true) {
    const std::function<void(size_t, size_t)>* fn;
    size_t n, chunks;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      fn = fn_, n = n_, chunks = chunks_;
    }
    if (static_cast<size_t>(index) < chunks) {
      const size_t begin = n * index / chunks, end = n * (index + 1) / chunks;
      (*fn)(begin, end);
    }
    bool last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last = --outstanding_ == 0;
    }
    if (last) done_cv_.notify_one();  // wake-up outside the lock
  }
}

void ThreadPool::parallel_for(size_t n, size_t grain,
                              const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  const size_t chunks =
      std::min<size_t>(workers_.size() + 1, std::max<size_t>(1, n / std::max<size_t>(grain, 1)));
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn, n_ = n, chunks_ = chunks;
    outstanding_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  fn(0, n / chunks);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return outstanding_ == 0; });
}

}  // namespace cadre::kernels

// Work that must wait until a write is durable (DESIGN.md: a change is on disk
// before anyone hears of it), for any supervisor's state machine — the job's today,
// the experiment's, inference service's and pipeline run's next. No CAF.
//
// Every write holds the whole record and gets a sequence number; work queued with
// it is released by the success of that write or of any later one (a later write
// holds the earlier one's changes). A failure releases nothing: the barrier says
// when to write again (doubling backoff, capped), and once — when the failures pass
// the retry limit — that it is time to give up; what giving up means is the
// caller's. Retries go on at the cap after that, so the final state still reaches
// the store when it comes back.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "actors/cluster_policy.h"

namespace cadre::actors {

template <typename Work>
class WriteBarrier {
 public:
  explicit WriteBarrier(StoreRetryPolicy policy) : policy_(policy) {}

  // A new write of the record; `work` waits for it. Returns its sequence number.
  uint64_t write(std::vector<Work> work) {
    const uint64_t seq = ++last_seq_;
    for (auto& w : work) waiting_.emplace_back(seq, std::move(w));
    return seq;
  }

  // Write `seq` is stored: the work it (and every earlier write) held, in order.
  std::vector<Work> stored(uint64_t seq) {
    failures_ = 0;
    std::vector<Work> ready;
    auto it = waiting_.begin();
    for (; it != waiting_.end() && it->first <= seq; ++it) ready.push_back(std::move(it->second));
    waiting_.erase(waiting_.begin(), it);
    return ready;
  }

  struct Failure {
    bool superseded = false;  // a later write is on its way and decides instead
    int failures = 0;         // consecutive failed writes, this one included
    bool give_up = false;     // true exactly once: the failures passed the retry limit
    // Write again after this long; empty while a retry is already scheduled.
    std::optional<std::chrono::milliseconds> retry_in;
  };

  // Write `seq` failed.
  Failure failed(uint64_t seq) {
    Failure f;
    if (seq < last_seq_) {
      f.superseded = true;
      return f;
    }
    f.failures = ++failures_;
    if (failures_ == policy_.attempts + 1 && !gave_up_) {
      gave_up_ = true;
      f.give_up = true;
    }
    if (!retry_scheduled_) {
      retry_scheduled_ = true;
      auto delay = policy_.initial;
      for (int k = 1; k < failures_ && delay < policy_.max; ++k) delay *= 2;
      f.retry_in = std::min(delay, policy_.max);
    }
    return f;
  }

  // The retry timer fired: true if a write is still owed (the caller writes again).
  bool retry_due() {
    retry_scheduled_ = false;
    return failures_ > 0;
  }

  // Keeps only the waiting work `keep` accepts (when giving up, what must not happen).
  template <typename Keep>
  void keep_only(Keep keep) {
    waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                  [&](const auto& entry) { return !keep(entry.second); }),
                   waiting_.end());
  }

  int retry_limit() const { return policy_.attempts; }

 private:
  StoreRetryPolicy policy_;
  uint64_t last_seq_ = 0;                           // last write handed out
  std::vector<std::pair<uint64_t, Work>> waiting_;  // by seq, ascending
  int failures_ = 0;                                // consecutive failed writes
  bool retry_scheduled_ = false;
  bool gave_up_ = false;
};

}  // namespace cadre::actors

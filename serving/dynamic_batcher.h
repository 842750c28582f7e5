// The scheduler in front of a model version's instances, with Triton's dynamic
// batching semantics (docs/serving.md#batching):
//
// - one queue per model version; every instance has a thread that, when idle,
//   forms the next batch from the front of the queue — so while all instances are
//   busy, requests accumulate and batches form as late as possible;
// - a batch is whole requests (a request of n rows counts n), at most
//   max_batch_size rows, of requests whose non-batch shapes agree; it leaves at
//   once when it reaches a preferred size (the largest one the queue allows) or
//   cannot grow, else when its oldest request has waited max_queue_delay;
// - queue policy: a request still queued at its timeout is rejected (REJECT) or
//   kept (DELAY); a full queue (max_queue_size) refuses new requests;
// - preserve_ordering answers requests in the order their batches left the queue;
// - without dynamic batching (or with max_batch_size 0) each request runs alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serving/backend.h"
#include "serving/infer_request.h"
#include "serving/model_stats.h"

namespace cadre::serving {

struct BatcherOptions {
  std::string model;  // for responses and logs
  int64_t version = 1;
  int max_batch_size = 0;
  bool dynamic = false;
  std::vector<int> preferred_batch_sizes;  // ascending
  std::chrono::microseconds max_queue_delay{0};
  bool preserve_ordering = false;
  bool reject_on_timeout = true;
  uint64_t default_timeout_us = 0;  // 0: none
  bool allow_timeout_override = false;
  size_t max_queue_size = 0;  // 0: only `hard_queue_limit`
  size_t hard_queue_limit = 65536;
};

// From a validated config, with the server's queue bound.
BatcherOptions batcher_options(const ModelConfig& config, int64_t version, size_t hard_queue_limit);

class DynamicBatcher {
 public:
  static Result<std::unique_ptr<DynamicBatcher>> Create(
      const BatcherOptions& options, std::vector<std::unique_ptr<ModelInstance>> instances,
      std::shared_ptr<ModelStats> stats);
  ~DynamicBatcher();

  // Queues a request whose inputs were checked against the config; `done` is
  // called exactly once (Unavailable if the queue is full or the batcher drains).
  void enqueue(std::shared_ptr<const InferRequest> request, InferCallback done);

  // Refuses new requests, answers every queued and running one, joins the threads.
  void drain();

 private:
  struct Pending {
    std::shared_ptr<const InferRequest> request;
    InferCallback done;
    Clock::time_point enqueued;
    Clock::time_point deadline;  // time_point::max(): none
    int64_t rows = 1;
  };
  struct Batch {
    std::vector<Pending> items;
    uint64_t sequence = 0;
  };

  DynamicBatcher(const BatcherOptions& options,
                 std::vector<std::unique_ptr<ModelInstance>> instances,
                 std::shared_ptr<ModelStats> stats);
  void run_instance(size_t index);
  // With mu_ held: the next batch to run, or an empty one with `wake` set to
  // when to look again. Expired requests move to `expired`.
  Batch take_batch(Clock::time_point now, Clock::time_point* wake, std::vector<Pending>* expired);
  size_t batch_prefix(Clock::time_point now, bool* ready) const;
  void execute(size_t index, Batch batch);
  void deliver(uint64_t sequence, std::vector<std::pair<InferCallback, Result<InferResponse>>>);
  void fail(std::vector<Pending>& items, const Status& status, FailureReason reason);

  const BatcherOptions options_;
  std::vector<std::unique_ptr<ModelInstance>> instances_;
  std::shared_ptr<ModelStats> stats_;
  std::vector<std::thread> threads_;

  // The queue, guarded by mu_; instance threads wait on cv_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  uint64_t next_sequence_ = 0;

  // preserve_ordering: finished batches wait here until every earlier one is out.
  std::mutex order_mu_;
  uint64_t next_to_deliver_ = 0;
  std::map<uint64_t, std::vector<std::pair<InferCallback, Result<InferResponse>>>> finished_;
};

// Concatenates the requests' inputs (each in config order) along the batch dimension.
std::vector<InferTensor> gather_inputs(const std::vector<const InferRequest*>& requests);
// Row range [begin, begin + rows) of a batched output.
InferTensor slice_rows(const InferTensor& batched, int64_t total_rows, int64_t begin, int64_t rows);

}  // namespace cadre::serving

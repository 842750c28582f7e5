#include "serving/dynamic_batcher.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace cadre::serving {
namespace {

uint64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Requests batch together only when every input has the same non-batch shape.
bool same_sample_shapes(const InferRequest& a, const InferRequest& b) {
  for (size_t i = 0; i < a.inputs.size(); ++i)
    if (!std::equal(a.inputs[i].shape.begin() + 1, a.inputs[i].shape.end(),
                    b.inputs[i].shape.begin() + 1, b.inputs[i].shape.end()))
      return false;
  return true;
}

}  // namespace

BatcherOptions batcher_options(const ModelConfig& config, int64_t version,
                               size_t hard_queue_limit) {
  BatcherOptions o;
  o.model = config.name();
  o.version = version;
  o.max_batch_size = config.max_batch_size();
  o.dynamic = config.has_dynamic_batching() && config.max_batch_size() > 0;
  o.hard_queue_limit = hard_queue_limit;
  if (!config.has_dynamic_batching()) return o;
  const auto& b = config.dynamic_batching();
  o.preferred_batch_sizes.assign(b.preferred_batch_size().begin(), b.preferred_batch_size().end());
  std::sort(o.preferred_batch_sizes.begin(), o.preferred_batch_sizes.end());
  o.max_queue_delay = std::chrono::microseconds(b.max_queue_delay_microseconds());
  o.preserve_ordering = b.preserve_ordering();
  const auto& q = b.default_queue_policy();
  o.reject_on_timeout = q.timeout_action() == config::ModelQueuePolicy::REJECT;
  o.default_timeout_us = q.default_timeout_microseconds();
  o.allow_timeout_override = q.allow_timeout_override();
  o.max_queue_size = q.max_queue_size();
  return o;
}

Result<std::unique_ptr<DynamicBatcher>> DynamicBatcher::Create(
    const BatcherOptions& options, std::vector<std::unique_ptr<ModelInstance>> instances,
    std::shared_ptr<ModelStats> stats) {
  if (instances.empty()) return InvalidArgument("a batcher needs at least one model instance");
  std::unique_ptr<DynamicBatcher> b(new DynamicBatcher(options, std::move(instances), stats));
  for (size_t i = 0; i < b->instances_.size(); ++i)
    b->threads_.emplace_back([raw = b.get(), i] { raw->run_instance(i); });
  return b;
}

DynamicBatcher::DynamicBatcher(const BatcherOptions& options,
                               std::vector<std::unique_ptr<ModelInstance>> instances,
                               std::shared_ptr<ModelStats> stats)
    : options_(options), instances_(std::move(instances)), stats_(std::move(stats)) {}

DynamicBatcher::~DynamicBatcher() { drain(); }

void DynamicBatcher::enqueue(std::shared_ptr<const InferRequest> request, InferCallback done) {
  Pending p;
  p.enqueued = Clock::now();
  p.rows = options_.max_batch_size > 0 ? request->inputs[0].shape[0] : 1;
  uint64_t timeout_us = options_.default_timeout_us;
  if (options_.allow_timeout_override && request->timeout_us > 0) timeout_us = request->timeout_us;
  p.deadline = timeout_us > 0 ? request->received + std::chrono::microseconds(timeout_us)
                              : Clock::time_point::max();
  p.request = std::move(request);
  p.done = std::move(done);
  Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t limit = options_.max_queue_size > 0
                             ? std::min<size_t>(options_.max_queue_size, options_.hard_queue_limit)
                             : options_.hard_queue_limit;
    if (stopping_) {
      refused = Unavailable("model '" + options_.model + "' version " +
                            std::to_string(options_.version) + " is unloading");
    } else if (queue_.size() >= limit) {
      refused = Unavailable("Exceeds maximum queue size");
    } else {
      queue_.push_back(std::move(p));
      stats_->pending.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (!refused.ok()) {
    stats_->fail.add(ns_between(p.request->received, Clock::now()));
    stats_->failures[static_cast<int>(FailureReason::kRejected)].fetch_add(1);
    p.done(refused);
    return;
  }
  cv_.notify_one();
}

void DynamicBatcher::drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

// How many requests from the front make the next batch, and whether it should
// leave now (`ready`) or may still grow.
size_t DynamicBatcher::batch_prefix(Clock::time_point now, bool* ready) const {
  if (!options_.dynamic) {
    *ready = true;
    return 1;
  }
  const int64_t max_rows = options_.max_batch_size;
  const auto& preferred = options_.preferred_batch_sizes;
  int64_t rows = 0;
  size_t count = 0, best_preferred = 0;
  bool can_grow = true;
  for (const Pending& p : queue_) {
    if (rows + p.rows > max_rows ||
        (count > 0 && !same_sample_shapes(*queue_[0].request, *p.request))) {
      can_grow = false;
      break;
    }
    rows += p.rows;
    ++count;
    if (std::binary_search(preferred.begin(), preferred.end(), rows)) best_preferred = count;
  }
  if (count == 0) {  // a single request larger than max_batch_size was refused earlier
    *ready = true;
    return 1;
  }
  const int64_t target = preferred.empty() ? max_rows : preferred.back();
  const bool waited = now - queue_.front().enqueued >= options_.max_queue_delay;
  if (rows >= target || !can_grow || waited || stopping_) {
    *ready = true;
    // A preferred size reachable from the front wins over an odd larger batch,
    // unless the oldest request has waited long enough to take what is there.
    return best_preferred > 0 && !waited && !stopping_ ? best_preferred : count;
  }
  *ready = false;
  return 0;
}

DynamicBatcher::Batch DynamicBatcher::take_batch(Clock::time_point now, Clock::time_point* wake,
                                                 std::vector<Pending>* expired) {
  if (options_.reject_on_timeout) {
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->deadline <= now) {
        expired->push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  Batch batch;
  if (queue_.empty()) return batch;
  bool ready = false;
  const size_t n = batch_prefix(now, &ready);
  if (!ready) {
    *wake = queue_.front().enqueued + options_.max_queue_delay;
    return batch;
  }
  for (size_t i = 0; i < n; ++i) {
    batch.items.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  batch.sequence = next_sequence_++;
  return batch;
}

void DynamicBatcher::run_instance(size_t index) {
  for (;;) {
    Batch batch;
    std::vector<Pending> expired;
    bool more = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        Clock::time_point wake = Clock::time_point::max();
        batch = take_batch(Clock::now(), &wake, &expired);
        if (!batch.items.empty() || !expired.empty()) break;
        if (queue_.empty() && stopping_) return;
        if (wake == Clock::time_point::max())
          cv_.wait(lock);
        else
          cv_.wait_until(lock, wake);
      }
      stats_->pending.fetch_sub(static_cast<int64_t>(batch.items.size() + expired.size()),
                                std::memory_order_relaxed);
      more = !queue_.empty();
    }
    // Another idle instance may form the next batch from what is left.
    if (more) cv_.notify_one();
    if (!expired.empty())
      fail(expired, Unavailable("Request timeout expired"), FailureReason::kRejected);
    if (!batch.items.empty()) execute(index, std::move(batch));
  }
}

void DynamicBatcher::fail(std::vector<Pending>& items, const Status& status, FailureReason reason) {
  const auto now = Clock::now();
  for (Pending& p : items) {
    stats_->fail.add(ns_between(p.request->received, now));
    stats_->failures[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
    p.done(status);
  }
}

std::vector<InferTensor> gather_inputs(const std::vector<const InferRequest*>& requests) {
  if (requests.size() == 1) return requests[0]->inputs;
  std::vector<InferTensor> out(requests[0]->inputs.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const InferTensor& first = requests[0]->inputs[i];
    out[i].name = first.name;
    out[i].datatype = first.datatype;
    out[i].shape = first.shape;
    out[i].shape[0] = 0;
    size_t bytes = 0;
    for (const InferRequest* r : requests) bytes += r->inputs[i].data.size();
    out[i].data.reserve(bytes);
    for (const InferRequest* r : requests) {
      out[i].shape[0] += r->inputs[i].shape[0];
      out[i].data += r->inputs[i].data;
    }
  }
  return out;
}

InferTensor slice_rows(const InferTensor& batched, int64_t total_rows, int64_t begin,
                       int64_t rows) {
  InferTensor out;
  out.name = batched.name;
  out.datatype = batched.datatype;
  out.shape = batched.shape;
  out.shape[0] = rows;
  if (batched.datatype != DataType::kBytes) {
    const size_t row_bytes = batched.data.size() / static_cast<size_t>(total_rows);
    out.data.assign(batched.data, begin * row_bytes, rows * row_bytes);
    return out;
  }
  auto elements = split_bytes_elements(batched.data).value();
  const size_t per_row = elements.size() / static_cast<size_t>(total_rows);
  for (size_t e = begin * per_row; e < (begin + rows) * per_row; ++e)
    append_bytes_element(&out.data, elements[e]);
  return out;
}

void DynamicBatcher::execute(size_t index, Batch batch) {
  const auto start = Clock::now();
  std::vector<const InferRequest*> requests;
  int64_t total_rows = 0;
  for (const Pending& p : batch.items) {
    requests.push_back(p.request.get());
    total_rows += p.rows;
    stats_->queue.add(ns_between(p.enqueued, start));
    stats_->queue_us.add(ns_between(p.enqueued, start) / 1000.0);
  }
  std::vector<InferTensor> inputs = gather_inputs(requests);
  const auto gathered = Clock::now();
  auto outputs = instances_[index]->execute(inputs);
  const auto computed = Clock::now();
  stats_->instance_busy_ns[index].fetch_add(ns_between(start, computed));
  if (!outputs.ok()) {
    spdlog::warn("model={} version={} instance={} batch of {} failed: {}", options_.model,
                 options_.version, index, total_rows, outputs.status().message());
    // Keep ordering intact: an empty slot for this sequence, then fail the requests.
    deliver(batch.sequence, {});
    fail(batch.items, Internal(outputs.status().message()), FailureReason::kBackend);
    return;
  }
  std::vector<std::pair<InferCallback, Result<InferResponse>>> responses;
  int64_t row = 0;
  for (Pending& p : batch.items) {
    InferResponse r;
    r.model = options_.model;
    r.version = options_.version;
    r.id = p.request->id;
    for (const InferTensor& o : *outputs) {
      const auto& wanted = p.request->outputs;
      if (!wanted.empty() &&
          std::none_of(wanted.begin(), wanted.end(),
                       [&](const RequestedOutput& w) { return w.name == o.name; }))
        continue;
      r.outputs.push_back(options_.max_batch_size > 0 && batch.items.size() > 1
                              ? slice_rows(o, total_rows, row, p.rows)
                              : o);
    }
    row += p.rows;
    responses.emplace_back(std::move(p.done), std::move(r));
  }
  const auto finished = Clock::now();
  const uint64_t in_batch = batch.items.size();
  stats_->compute_input.add(ns_between(start, gathered), in_batch);
  stats_->compute_infer.add(ns_between(gathered, computed), in_batch);
  stats_->compute_output.add(ns_between(computed, finished), in_batch);
  stats_->compute_infer_us.add(ns_between(gathered, computed) / 1000.0);
  stats_->add_batch(static_cast<int>(total_rows), ns_between(start, gathered),
                    ns_between(gathered, computed), ns_between(computed, finished));
  stats_->execution_count.fetch_add(1, std::memory_order_relaxed);
  stats_->inference_count.fetch_add(static_cast<uint64_t>(total_rows), std::memory_order_relaxed);
  stats_->last_inference_ms.store(now_ms(), std::memory_order_relaxed);
  for (const Pending& p : batch.items) {
    const uint64_t ns = ns_between(p.request->received, finished);
    stats_->success.add(ns);
    stats_->request_us.add(ns / 1000.0);
  }
  deliver(batch.sequence, std::move(responses));
}

void DynamicBatcher::deliver(
    uint64_t sequence, std::vector<std::pair<InferCallback, Result<InferResponse>>> responses) {
  if (!options_.preserve_ordering) {
    for (auto& [done, response] : responses) done(std::move(response));
    return;
  }
  // Callbacks only post the response to a front end's thread, so calling them
  // under order_mu_ is short; it is what keeps batch k's answers ahead of k+1's.
  std::lock_guard<std::mutex> lock(order_mu_);
  finished_[sequence] = std::move(responses);
  while (!finished_.empty() && finished_.begin()->first == next_to_deliver_) {
    for (auto& [done, response] : finished_.begin()->second) done(std::move(response));
    finished_.erase(finished_.begin());
    ++next_to_deliver_;
  }
}

}  // namespace cadre::serving

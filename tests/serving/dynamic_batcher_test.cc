#include "serving/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace cadre::serving {
namespace {

using namespace std::chrono_literals;

// Doubles its FP32 input, records every batch size, and can be held shut so
// tests decide when an instance is busy.
class FakeInstance : public ModelInstance {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<int64_t> batches;
    bool gate_open = true;
    std::atomic<int> running{0};
  };
  explicit FakeInstance(Shared* shared, std::chrono::microseconds work = 0us)
      : shared_(shared), work_(work) {}

  Result<std::vector<InferTensor>> execute(const std::vector<InferTensor>& inputs) override {
    shared_->running++;
    {
      std::unique_lock<std::mutex> lock(shared_->mu);
      shared_->batches.push_back(inputs[0].shape[0]);
      shared_->cv.notify_all();
      shared_->cv.wait(lock, [&] { return shared_->gate_open; });
    }
    std::this_thread::sleep_for(work_);
    InferTensor out = inputs[0];
    out.name = "y";
    auto* f = reinterpret_cast<float*>(out.data.data());
    for (size_t i = 0; i < out.data.size() / 4; ++i) f[i] *= 2;
    shared_->running--;
    return std::vector<InferTensor>{out};
  }

 private:
  Shared* shared_;
  std::chrono::microseconds work_;
};

std::shared_ptr<InferRequest> request(int rows, float value) {
  auto r = std::make_shared<InferRequest>();
  InferTensor t{"x", DataType::kFp32, {rows, 2}, {}};
  for (int i = 0; i < rows * 2; ++i) t.data.append(reinterpret_cast<const char*>(&value), 4);
  r->inputs.push_back(t);
  return r;
}

struct Harness {
  FakeInstance::Shared shared;
  std::unique_ptr<DynamicBatcher> batcher;
  std::mutex mu;
  std::vector<Result<InferResponse>> results;
  std::vector<float> order;  // first value of each response, in delivery order

  explicit Harness(BatcherOptions options, int instances = 1,
                   std::chrono::microseconds work = 0us) {
    std::vector<std::unique_ptr<ModelInstance>> v;
    for (int i = 0; i < instances; ++i) v.push_back(std::make_unique<FakeInstance>(&shared, work));
    batcher = DynamicBatcher::Create(options, std::move(v), std::make_shared<ModelStats>(instances))
                  .value();
  }
  void send(int rows, float value) {
    batcher->enqueue(request(rows, value), [this](Result<InferResponse> r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.ok()) {
        float f;
        std::memcpy(&f, r->outputs[0].data.data(), 4);
        order.push_back(f);
      }
      results.push_back(std::move(r));
    });
  }
  void close_gate() {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.gate_open = false;
  }
  void open_gate() {
    {
      std::lock_guard<std::mutex> lock(shared.mu);
      shared.gate_open = true;
    }
    shared.cv.notify_all();
  }
  void wait_batches(size_t n) {
    std::unique_lock<std::mutex> lock(shared.mu);
    ASSERT_TRUE(shared.cv.wait_for(lock, 5s, [&] { return shared.batches.size() >= n; }));
  }
  size_t answered() {
    std::lock_guard<std::mutex> lock(mu);
    return results.size();
  }
  void wait_answered(size_t n) {
    for (int i = 0; i < 500 && answered() < n; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(answered(), n);
  }
  std::vector<int64_t> batches() {
    std::lock_guard<std::mutex> lock(shared.mu);
    return shared.batches;
  }
};

BatcherOptions dynamic(int max_batch) {
  BatcherOptions o;
  o.model = "m";
  o.max_batch_size = max_batch;
  o.dynamic = true;
  return o;
}

TEST(DynamicBatcher, RequestsQueuedWhileTheInstanceIsBusyRunAsOneBatchOfWholeRequests) {
  Harness h(dynamic(8));
  h.close_gate();
  h.send(1, 1);
  h.wait_batches(1);  // the instance is now busy with the first request
  h.send(3, 2);
  h.send(2, 3);
  h.send(4, 4);  // would make 9 rows: waits for the next batch
  h.open_gate();
  h.wait_answered(4);
  EXPECT_EQ(h.batches(), (std::vector<int64_t>{1, 5, 4}));
  for (const auto& r : h.results) ASSERT_TRUE(r.ok());
}

TEST(DynamicBatcher, EachRequestGetsItsOwnRowsBack) {
  Harness h(dynamic(16));
  h.close_gate();
  h.send(1, 100);
  h.wait_batches(1);
  for (int rows = 1; rows <= 5; ++rows) h.send(rows, static_cast<float>(rows));
  h.open_gate();
  h.wait_answered(6);
  EXPECT_EQ(h.batches(), (std::vector<int64_t>{1, 15}));
  std::lock_guard<std::mutex> lock(h.mu);
  for (size_t k = 1; k < h.results.size(); ++k) {
    ASSERT_TRUE(h.results[k].ok());
    const auto& t = h.results[k]->outputs[0];
    const auto* f = reinterpret_cast<const float*>(t.data.data());
    const int rows = static_cast<int>(t.shape[0]);
    ASSERT_EQ(t.data.size(), static_cast<size_t>(rows) * 2 * 4);
    for (int i = 0; i < rows * 2; ++i) EXPECT_EQ(f[i], 2.0f * rows) << "request of " << rows;
  }
}

TEST(DynamicBatcher, WaitsUpToTheQueueDelayForAPreferredSize) {
  auto o = dynamic(8);
  o.preferred_batch_sizes = {4};
  o.max_queue_delay = 200ms;
  Harness h(o);
  h.send(1, 1);
  h.send(1, 2);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(h.batches().empty()) << "a batch of 2 left before the delay or a preferred size";
  h.send(1, 3);
  h.send(1, 4);  // 4 rows: preferred, leaves at once
  h.wait_answered(4);
  EXPECT_EQ(h.batches(), (std::vector<int64_t>{4}));
  h.send(1, 5);  // alone: leaves when its delay expires
  const auto start = Clock::now();
  h.wait_answered(5);
  EXPECT_GE(Clock::now() - start, 150ms);
}

TEST(DynamicBatcher, WithoutDynamicBatchingEveryRequestRunsAlone) {
  BatcherOptions o;
  o.max_batch_size = 8;  // a batch dimension, but no dynamic_batching section
  Harness h(o);
  h.close_gate();
  h.send(2, 1);
  h.wait_batches(1);
  h.send(2, 2);
  h.send(2, 3);
  h.open_gate();
  h.wait_answered(3);
  EXPECT_EQ(h.batches(), (std::vector<int64_t>{2, 2, 2}));
}

TEST(DynamicBatcher, AFullQueueRefusesWithTritonsMessage) {
  auto o = dynamic(4);
  o.max_queue_size = 2;
  Harness h(o);
  h.close_gate();
  h.send(4, 1);
  h.wait_batches(1);
  h.send(4, 2);
  h.send(4, 3);
  h.send(4, 4);  // third in the queue
  h.wait_answered(1);
  {
    std::lock_guard<std::mutex> lock(h.mu);
    ASSERT_FALSE(h.results[0].ok());
    EXPECT_EQ(h.results[0].status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(h.results[0].status().message(), "Exceeds maximum queue size");
  }
  h.open_gate();
  h.wait_answered(4);
}

TEST(DynamicBatcher, ARequestStillQueuedAtItsTimeoutIsRejected) {
  auto o = dynamic(4);
  o.default_timeout_us = 50'000;
  Harness h(o);
  h.close_gate();
  h.send(4, 1);
  h.wait_batches(1);
  h.send(4, 2);  // queued behind a busy instance past its 50 ms
  std::this_thread::sleep_for(120ms);
  h.open_gate();
  h.wait_answered(2);
  std::lock_guard<std::mutex> lock(h.mu);
  EXPECT_TRUE(h.results[0].ok());
  ASSERT_FALSE(h.results[1].ok());
  EXPECT_EQ(h.results[1].status().message(), "Request timeout expired");
}

TEST(DynamicBatcher, PreserveOrderingAnswersInQueueOrderAcrossInstances) {
  auto o = dynamic(1);
  o.preserve_ordering = true;
  Harness h(o, /*instances=*/4, /*work=*/2ms);
  for (int i = 0; i < 64; ++i) h.send(1, static_cast<float>(i));
  h.wait_answered(64);
  std::lock_guard<std::mutex> lock(h.mu);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(h.order[i], 2.0f * i);
}

TEST(DynamicBatcher, InstancesRunBatchesConcurrently) {
  Harness h(dynamic(1), /*instances=*/3);
  h.close_gate();
  for (int i = 0; i < 3; ++i) h.send(1, 1);
  h.wait_batches(3);
  EXPECT_EQ(h.shared.running.load(), 3);
  h.open_gate();
  h.wait_answered(3);
}

TEST(DynamicBatcher, DrainAnswersEveryQueuedRequestThenRefusesNewOnes) {
  Harness h(dynamic(2), 1, 1ms);
  for (int i = 0; i < 50; ++i) h.send(1, 1);
  h.batcher->drain();
  EXPECT_EQ(h.answered(), 50u);
  for (const auto& r : h.results) EXPECT_TRUE(r.ok());
  h.send(1, 1);
  ASSERT_EQ(h.answered(), 51u);
  EXPECT_EQ(h.results.back().status().code(), StatusCode::kUnavailable);
}

TEST(DynamicBatcher, SliceRowsSplitsBytesTensorsByRow) {
  InferTensor t{"label", DataType::kBytes, {3, 1}, {}};
  for (const char* s : {"a", "bb", "ccc"}) append_bytes_element(&t.data, s);
  auto middle = slice_rows(t, 3, 1, 2);
  auto e = split_bytes_elements(middle.data).value();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "bb");
  EXPECT_EQ(e[1], "ccc");
  EXPECT_EQ(middle.shape, (Dims{2, 1}));
}

}  // namespace
}  // namespace cadre::serving

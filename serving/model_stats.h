// What one model version has done, in the shape of Triton's statistics extension
// and metrics: counters (lock-free, bumped by batcher threads), a window of recent
// latencies for the p50/p90/p99 summaries, and per-batch-size execution counts.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace cadre::serving {

// Triton's {count, ns}: requests counted, and the time each spent summed (a
// batch's duration counts once per request in it).
struct DurationStat {
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> ns{0};
  void add(uint64_t nanoseconds, uint64_t requests = 1) {
    count.fetch_add(requests, std::memory_order_relaxed);
    ns.fetch_add(nanoseconds * requests, std::memory_order_relaxed);
  }
};

// The last kSize samples (microseconds); quantiles over them, as prometheus-cpp's
// Summary does over its sliding window. Bounded memory whatever the traffic.
class LatencyWindow {
 public:
  static constexpr size_t kSize = 2048;
  void add(double us);
  // {p50, p90, p99}; zeros before the first sample.
  std::array<double, 3> quantiles() const;
  uint64_t count() const;
  double sum_us() const;

 private:
  mutable std::mutex mu_;
  std::array<double, kSize> samples_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Triton's failure reasons (nv_inference_request_failure{reason}).
enum class FailureReason { kRejected, kCanceled, kBackend, kOther };
constexpr int kFailureReasons = 4;
const char* failure_reason_name(FailureReason reason);

struct BatchStat {
  uint64_t count = 0;
  uint64_t compute_input_ns = 0, compute_infer_ns = 0, compute_output_ns = 0;
};

struct ModelStats {
  explicit ModelStats(int instances) : instance_busy_ns(instances) {}

  DurationStat success, fail, queue, compute_input, compute_infer, compute_output;
  std::array<std::atomic<uint64_t>, kFailureReasons> failures{};
  std::atomic<uint64_t> inference_count{0};  // rows (batch elements) inferred
  std::atomic<uint64_t> execution_count{0};  // batches executed
  std::atomic<uint64_t> last_inference_ms{0};
  std::atomic<int64_t> pending{0};  // queued, not yet executing
  std::vector<std::atomic<uint64_t>> instance_busy_ns;
  LatencyWindow request_us, queue_us, compute_infer_us;
  uint64_t load_ms = 0;  // set once before serving

  void add_batch(int size, uint64_t input_ns, uint64_t infer_ns, uint64_t output_ns);
  std::map<int, BatchStat> batch_stats() const;

 private:
  mutable std::mutex batch_mu_;
  std::map<int, BatchStat> batches_;  // at most max_batch_size entries
};

}  // namespace cadre::serving

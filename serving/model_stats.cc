#include "serving/model_stats.h"

#include <algorithm>
#include <cmath>

namespace cadre::serving {

void LatencyWindow::add(double us) {
  std::lock_guard<std::mutex> lock(mu_);
  samples_[count_ % kSize] = us;
  ++count_;
  sum_ += us;
}

std::array<double, 3> LatencyWindow::quantiles() const {
  std::array<double, kSize> copy;
  size_t n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = std::min<uint64_t>(count_, kSize);
    std::copy(samples_.begin(), samples_.begin() + n, copy.begin());
  }
  if (n == 0) return {0, 0, 0};
  std::array<double, 3> out{};
  const double qs[3] = {0.5, 0.9, 0.99};
  for (int i = 0; i < 3; ++i) {
    const size_t k = std::min(n - 1, static_cast<size_t>(std::ceil(qs[i] * n)) - 1);
    std::nth_element(copy.begin(), copy.begin() + k, copy.begin() + n);
    out[i] = copy[k];
  }
  return out;
}

uint64_t LatencyWindow::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

double LatencyWindow::sum_us() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sum_;
}

const char* failure_reason_name(FailureReason reason) {
  switch (reason) {
    case FailureReason::kRejected:
      return "REJECTED";
    case FailureReason::kCanceled:
      return "CANCELED";
    case FailureReason::kBackend:
      return "BACKEND";
    case FailureReason::kOther:
      return "OTHER";
  }
  return "OTHER";
}

void ModelStats::add_batch(int size, uint64_t input_ns, uint64_t infer_ns, uint64_t output_ns) {
  std::lock_guard<std::mutex> lock(batch_mu_);
  BatchStat& b = batches_[size];
  ++b.count;
  b.compute_input_ns += input_ns;
  b.compute_infer_ns += infer_ns;
  b.compute_output_ns += output_ns;
}

std::map<int, BatchStat> ModelStats::batch_stats() const {
  std::lock_guard<std::mutex> lock(batch_mu_);
  return batches_;
}

}  // namespace cadre::serving

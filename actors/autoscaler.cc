#include "actors/autoscaler.h"

#include <algorithm>
#include <cmath>

namespace cadre::actors {

void RevisionAutoscaler::observe(const std::string& source, int64_t at_ms, double value) {
  if (!std::isfinite(value) || value < 0) return;
  if (observed_since_ms_ < 0) observed_since_ms_ = at_ms;
  auto& q = samples_[source];
  q.push_back({at_ms, value});
  // Nothing older than the stable window is ever read again.
  while (!q.empty() && q.front().at_ms < at_ms - policy_.stable_window.count()) q.pop_front();
}

double RevisionAutoscaler::average(int64_t now_ms, std::chrono::milliseconds window) const {
  double total = 0;
  for (const auto& [source, q] : samples_) {
    double sum = 0;
    int n = 0;
    for (auto it = q.rbegin(); it != q.rend() && it->at_ms >= now_ms - window.count(); ++it) {
      sum += it->value;
      ++n;
    }
    if (n > 0) total += sum / n;  // each ingress's average; their loads add up
  }
  return total;
}

double RevisionAutoscaler::latest(int64_t now_ms) const {
  double total = 0;
  for (const auto& [source, q] : samples_) {
    if (!q.empty() && q.back().at_ms >= now_ms - policy_.panic_window.count()) {
      total += q.back().value;
    }
  }
  return total;
}

ScaleDecision RevisionAutoscaler::decide(int64_t now_ms, int32_t running, double target,
                                         int32_t min, int32_t max) {
  ScaleDecision d;
  const auto bound = [&](int32_t n) { return std::clamp(n, min, std::max(min, max)); };
  if (samples_.empty() || target <= 0) {
    d.desired = bound(running);
    return d;
  }
  d.stable_load = average(now_ms, policy_.stable_window);
  d.panic_load = average(now_ms, policy_.panic_window);
  const auto want_stable = static_cast<int32_t>(std::ceil(d.stable_load / target - 1e-9));
  const auto want_panic = static_cast<int32_t>(std::ceil(d.panic_load / target - 1e-9));
  // Panic: the short window asks for panic_threshold x what runs (Knative's 200%).
  if (want_panic >= policy_.panic_threshold * std::max(running, 1) && want_panic > running) {
    if (panic_until_ms_ == 0) panic_floor_ = 0;
    panic_until_ms_ = now_ms + policy_.stable_window.count();
  }
  if (panic_until_ms_ != 0 && now_ms >= panic_until_ms_) panic_until_ms_ = 0;
  d.panic = panic_until_ms_ != 0;
  if (d.panic) {
    // Follow the panic window up, never down, until the panic has passed.
    panic_floor_ = std::max({panic_floor_, want_panic, running});
    d.desired = bound(panic_floor_);
  } else {
    d.desired = bound(want_stable);
  }
  if (d.desired == 0 && running > 0 &&
      (d.stable_load > 0 || now_ms - observed_since_ms_ < policy_.stable_window.count())) {
    d.desired = bound(1);  // to zero only after a whole stable window without a request
  }
  if (running == 0 && d.panic_load > 0) {
    // Requests wait at zero: what waits now, not a window's average, says how many
    // replicas to start (at least one).
    const auto want_now = static_cast<int32_t>(std::ceil(latest(now_ms) / target - 1e-9));
    d.desired = std::max(d.desired, bound(std::max(want_now, 1)));
  }
  return d;
}

}  // namespace cadre::actors

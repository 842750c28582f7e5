#include "ingress/traffic_history.h"

#include <algorithm>
#include <cmath>

namespace cadre::ingress {
namespace {

// Nearest rank: the smallest value with at least q of the values at or below it.
double percentile(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

TrafficHistory::TrafficHistory(TrafficHistoryOptions options) : options_(options) {
  options_.interval = std::max(options_.interval, std::chrono::milliseconds(1));
  options_.samples = std::max<size_t>(options_.samples, 1);
  options_.max_latencies = std::max<size_t>(options_.max_latencies, 1);
  options_.max_services = std::max<size_t>(options_.max_services, 1);
}

int64_t TrafficHistory::interval_start(int64_t now_ms) const {
  const int64_t interval = options_.interval.count();
  const int64_t into = ((now_ms % interval) + interval) % interval;
  return now_ms - into;
}

TrafficHistory::Series& TrafficHistory::series(const std::string& service, int64_t now_ms) {
  auto it = series_.find(service);
  if (it == series_.end()) {
    if (series_.size() >= options_.max_services) {
      series_.erase(
          std::min_element(series_.begin(), series_.end(), [](const auto& a, const auto& b) {
            return a.second.last_active_ms < b.second.last_active_ms;
          }));
    }
    it = series_.emplace(service, Series{}).first;
    it->second.open_start_ms = interval_start(now_ms);
  }
  it->second.last_active_ms = std::max(it->second.last_active_ms, now_ms);
  return it->second;
}

void TrafficHistory::push(Series& s, TrafficSample sample) {
  s.closed.push_back(sample);
  while (s.closed.size() > options_.samples) s.closed.pop_front();
}

void TrafficHistory::close_open(Series& s, TrafficGauges gauges) {
  TrafficSample sample;
  sample.end_ms = s.open_start_ms + options_.interval.count();
  sample.requests = s.requests;
  sample.errors = s.errors;
  if (!s.latencies_ms.empty()) {
    std::sort(s.latencies_ms.begin(), s.latencies_ms.end());
    sample.p50_ms = percentile(s.latencies_ms, 0.50);
    sample.p90_ms = percentile(s.latencies_ms, 0.90);
    sample.p99_ms = percentile(s.latencies_ms, 0.99);
  }
  sample.in_flight = gauges.in_flight;
  sample.held = gauges.held;
  push(s, sample);
  s.requests = 0;
  s.errors = 0;
  s.seen = 0;
  s.latencies_ms.clear();
}

void TrafficHistory::roll(const std::string& service, int64_t now_ms, TrafficGauges gauges) {
  auto it = series_.find(service);
  if (it == series_.end()) return;
  Series& s = it->second;
  const int64_t interval = options_.interval.count();
  const int64_t start = interval_start(now_ms);
  // A clock stepped back keeps adding to the open interval rather than rewriting closed ones.
  if (start <= s.open_start_ms) return;
  close_open(s, gauges);
  // Intervals that passed without an event: nothing answered, the gauges unchanged.
  // Only the last `samples` of a long quiet spell can be kept, so only those are made.
  int64_t next = s.open_start_ms + interval;
  const auto quiet =
      std::min<int64_t>((start - next) / interval, static_cast<int64_t>(options_.samples));
  next = start - quiet * interval;
  for (int64_t i = 0; i < quiet; ++i) {
    TrafficSample sample;
    sample.end_ms = next + (i + 1) * interval;
    sample.in_flight = gauges.in_flight;
    sample.held = gauges.held;
    push(s, sample);
  }
  s.open_start_ms = start;
}

void TrafficHistory::track(const std::string& service, int64_t now_ms, TrafficGauges gauges) {
  series(service, now_ms);
  roll(service, now_ms, gauges);
}

void TrafficHistory::answered(const std::string& service, int64_t now_ms, int code,
                              double latency_ms) {
  Series& s = series(service, now_ms);
  s.requests++;
  if (code >= 500) s.errors++;
  // Reservoir sampling (Vitter's algorithm R): each latency of the interval is kept
  // with equal probability once more arrive than are kept.
  s.seen++;
  if (s.latencies_ms.size() < options_.max_latencies) {
    s.latencies_ms.push_back(latency_ms);
  } else {
    const uint64_t j = std::uniform_int_distribution<uint64_t>(0, s.seen - 1)(random_);
    if (j < s.latencies_ms.size()) s.latencies_ms[j] = latency_ms;
  }
}

std::vector<TrafficSample> TrafficHistory::samples(const std::string& service) const {
  auto it = series_.find(service);
  if (it == series_.end()) return {};
  return {it->second.closed.begin(), it->second.closed.end()};
}

}  // namespace cadre::ingress

#include "ingress/ingress_metrics.h"

#include "protocol/prometheus_text.h"
#include "protocol/wall_clock.h"

namespace cadre::ingress {
namespace {

// Seconds: from a fast in-memory answer to a slow batch.
constexpr double kBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};

}  // namespace

IngressMetrics::IngressMetrics(TrafficHistoryOptions traffic, std::function<int64_t()> wall_ms)
    : wall_ms_(wall_ms ? std::move(wall_ms) : std::function<int64_t()>(cadre::wall_ms)),
      traffic_(traffic) {}

void IngressMetrics::roll_traffic(const std::string& service, int64_t now_ms, bool track) {
  TrafficGauges gauges;
  if (auto it = in_flight_.find(service); it != in_flight_.end()) gauges.in_flight = it->second;
  for (const bool cold : {false, true}) {
    if (auto it = held_now_.find({service, cold}); it != held_now_.end()) gauges.held += it->second;
  }
  if (track) {
    traffic_.track(service, now_ms, gauges);
  } else {
    traffic_.roll(service, now_ms, gauges);
  }
}

void IngressMetrics::started(const std::string& service) {
  const int64_t now = wall_ms_();
  std::lock_guard<std::mutex> lock(mutex_);
  roll_traffic(service, now, true);
  in_flight_[service]++;
}

void IngressMetrics::finished(const std::string& service, const std::string& revision, int code,
                              std::chrono::microseconds latency) {
  const double seconds = static_cast<double>(latency.count()) / 1e6;
  const int64_t now = wall_ms_();
  std::lock_guard<std::mutex> lock(mutex_);
  roll_traffic(service, now, true);
  traffic_.answered(service, now, code, seconds * 1000);
  in_flight_[service]--;
  requests_[{service, revision, code}]++;
  auto& h = latency_[{service, revision}];
  if (h.buckets.empty()) h.buckets.assign(std::size(kBounds), 0);
  for (size_t i = 0; i < std::size(kBounds); ++i) {
    if (seconds <= kBounds[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum += seconds;
}

void IngressMetrics::held(const std::string& service, bool cold) {
  const int64_t now = wall_ms_();
  std::lock_guard<std::mutex> lock(mutex_);
  roll_traffic(service, now, true);
  held_now_[{service, cold}]++;
  held_total_[{service, cold}]++;
}

void IngressMetrics::released(const std::string& service, bool cold) {
  const int64_t now = wall_ms_();
  std::lock_guard<std::mutex> lock(mutex_);
  roll_traffic(service, now, true);
  held_now_[{service, cold}]--;
}

std::vector<TrafficSample> IngressMetrics::traffic(const std::string& service) {
  const int64_t now = wall_ms_();
  std::lock_guard<std::mutex> lock(mutex_);
  roll_traffic(service, now, false);
  return traffic_.samples(service);
}

std::string IngressMetrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  protocol::PrometheusText out;
  out.family("cadre_ingress_requests_total", "counter",
             "Requests answered, by service, revision and code.");
  for (const auto& [key, n] : requests_) {
    const auto& [service, revision, code] = key;
    out.sample("cadre_ingress_requests_total",
               {{"service", service}, {"revision", revision}, {"code", std::to_string(code)}},
               static_cast<double>(n));
  }
  out.family("cadre_ingress_request_duration_seconds", "histogram",
             "Time to answer, at the ingress.");
  const std::vector<double> bounds(std::begin(kBounds), std::end(kBounds));
  for (const auto& [key, h] : latency_) {
    out.histogram("cadre_ingress_request_duration_seconds",
                  {{"service", key.first}, {"revision", key.second}}, bounds, h.buckets, h.count,
                  h.sum);
  }
  out.family("cadre_ingress_in_flight", "gauge", "Requests being answered now.");
  for (const auto& [service, n] : in_flight_) {
    out.sample("cadre_ingress_in_flight", {{"service", service}}, static_cast<double>(n));
  }
  const auto reason = [](bool cold) { return cold ? "cold_start" : "at_capacity"; };
  out.family("cadre_ingress_held_requests", "gauge",
             "Requests held now: at zero replicas (cold_start) or at containerConcurrency "
             "(at_capacity).");
  for (const auto& [key, n] : held_now_) {
    out.sample("cadre_ingress_held_requests",
               {{"service", key.first}, {"reason", reason(key.second)}}, static_cast<double>(n));
  }
  out.family("cadre_ingress_held_requests_total", "counter", "Requests that were held, by reason.");
  for (const auto& [key, n] : held_total_) {
    out.sample("cadre_ingress_held_requests_total",
               {{"service", key.first}, {"reason", reason(key.second)}}, static_cast<double>(n));
  }
  return out.str();
}

}  // namespace cadre::ingress

#include "ingress/ingress_metrics.h"

#include <sstream>

namespace cadre::ingress {
namespace {

// Seconds: from a fast in-memory answer to a slow batch.
constexpr double kBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};

}  // namespace

void IngressMetrics::started(const std::string& service) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_flight_[service]++;
}

void IngressMetrics::finished(const std::string& service, const std::string& revision, int code,
                              std::chrono::microseconds latency) {
  const double seconds = static_cast<double>(latency.count()) / 1e6;
  std::lock_guard<std::mutex> lock(mutex_);
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

std::string IngressMetrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# HELP cadre_ingress_requests_total Requests answered, by service, revision and code.\n"
         "# TYPE cadre_ingress_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [service, revision, code] = key;
    out << "cadre_ingress_requests_total{service=\"" << service << "\",revision=\"" << revision
        << "\",code=\"" << code << "\"} " << n << "\n";
  }
  out << "# HELP cadre_ingress_request_duration_seconds Time to answer, at the ingress.\n"
         "# TYPE cadre_ingress_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    const std::string labels = "service=\"" + key.first + "\",revision=\"" + key.second + "\"";
    for (size_t i = 0; i < std::size(kBounds); ++i) {
      out << "cadre_ingress_request_duration_seconds_bucket{" << labels << ",le=\"" << kBounds[i]
          << "\"} " << h.buckets[i] << "\n";
    }
    out << "cadre_ingress_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << h.count
        << "\n";
    out << "cadre_ingress_request_duration_seconds_sum{" << labels << "} " << h.sum << "\n";
    out << "cadre_ingress_request_duration_seconds_count{" << labels << "} " << h.count << "\n";
  }
  out << "# HELP cadre_ingress_in_flight Requests being answered now.\n"
         "# TYPE cadre_ingress_in_flight gauge\n";
  for (const auto& [service, n] : in_flight_) {
    out << "cadre_ingress_in_flight{service=\"" << service << "\"} " << n << "\n";
  }
  return out.str();
}

}  // namespace cadre::ingress

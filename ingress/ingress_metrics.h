// The ingress's Prometheus metrics, per service and revision: requests by status
// code, a latency histogram, requests in flight, and requests held because their
// revision was at zero replicas (a cold start) or at its containerConcurrency.
// Rendered in the text exposition format at /metrics. The last hour of each
// service's traffic is kept for the dashboard too (traffic_history.h).
//
// Thread-safety: record() and render() may be called from any thread; one mutex.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "ingress/traffic_history.h"

namespace cadre::ingress {

class IngressMetrics {
 public:
  // `wall_ms`: the clock the traffic history's intervals follow (tests pass their own).
  explicit IngressMetrics(TrafficHistoryOptions traffic = {},
                          std::function<int64_t()> wall_ms = nullptr);

  void started(const std::string& service);
  // A finished request: `revision` is empty when none was chosen.
  void finished(const std::string& service, const std::string& revision, int code,
                std::chrono::microseconds latency);
  // A request held by the activator (`cold`: at zero replicas, else at capacity),
  // and when it leaves the hold.
  void held(const std::string& service, bool cold);
  void released(const std::string& service, bool cold);
  std::string render() const;
  // The closed intervals of a service's traffic, oldest first.
  std::vector<TrafficSample> traffic(const std::string& service);
  std::chrono::milliseconds traffic_interval() const { return traffic_.options().interval; }

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative counts per bound in kBounds
    uint64_t count = 0;
    double sum = 0;
  };
  // Closes `service`'s ended traffic intervals with its gauges as they are (under mutex_).
  void roll_traffic(const std::string& service, int64_t now_ms, bool track);

  std::function<int64_t()> wall_ms_;
  mutable std::mutex mutex_;
  TrafficHistory traffic_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, int64_t> in_flight_;
  std::map<std::pair<std::string, bool>, int64_t> held_now_;     // by (service, cold)
  std::map<std::pair<std::string, bool>, uint64_t> held_total_;  // by (service, cold)
};

}  // namespace cadre::ingress

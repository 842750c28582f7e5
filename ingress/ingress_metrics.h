// The ingress's Prometheus metrics, per service and revision: requests by status
// code, a latency histogram, requests in flight, and requests held because their
// revision was at zero replicas (a cold start) or at its containerConcurrency.
// Rendered in the text exposition format at /metrics.
//
// Thread-safety: record() and render() may be called from any thread; one mutex.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace cadre::ingress {

class IngressMetrics {
 public:
  void started(const std::string& service);
  // A finished request: `revision` is empty when none was chosen.
  void finished(const std::string& service, const std::string& revision, int code,
                std::chrono::microseconds latency);
  // A request held by the activator (`cold`: at zero replicas, else at capacity),
  // and when it leaves the hold.
  void held(const std::string& service, bool cold);
  void released(const std::string& service, bool cold);
  std::string render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative counts per bound in kBounds
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, int64_t> in_flight_;
  std::map<std::pair<std::string, bool>, int64_t> held_now_;     // by (service, cold)
  std::map<std::pair<std::string, bool>, uint64_t> held_total_;  // by (service, cold)
};

}  // namespace cadre::ingress

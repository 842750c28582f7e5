// What each inference service's traffic looked like over the last hour, for the
// dashboard's charts (GET /api/v1/.../inferenceservices/NAME/traffic): per fixed
// interval (5 s by default, aligned to the wall clock so every service shares its
// boundaries), the requests and 5xx errors answered, latency percentiles of the
// requests answered in it, and the requests in flight and held (the activator's
// queue) at its end. Prometheus keeps the long history; this is the last hour an
// operator looks at without one.
//
// Bounded: at most `samples` intervals per service and `max_services` services
// (the least recently active goes first); latencies are kept per open interval up
// to `max_latencies` (a uniform reservoir past that, so percentiles of a busy
// interval are estimates from that many requests).
//
// Pure: time comes in as wall-clock milliseconds; the caller locks (IngressMetrics
// owns one under its mutex). A service's open interval is closed lazily, when its
// next event or read arrives: the gauges passed in then are still those at the
// interval's end, because only that service's events change them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace cadre::ingress {

struct TrafficHistoryOptions {
  std::chrono::milliseconds interval{5000};
  size_t samples = 720;  // per service: one hour of 5 s intervals
  size_t max_latencies = 2048;
  size_t max_services = 1024;
};

struct TrafficSample {
  int64_t end_ms = 0;     // the interval's end (wall clock)
  uint64_t requests = 0;  // answered in the interval
  uint64_t errors = 0;    // of those, answered 5xx
  // Of the requests answered in the interval (nearest rank); nullopt when none.
  std::optional<double> p50_ms;
  std::optional<double> p90_ms;
  std::optional<double> p99_ms;
  int64_t in_flight = 0;  // being answered at its end
  int64_t held = 0;       // held by the activator at its end
};

// The gauges of one service now: in flight, held.
struct TrafficGauges {
  int64_t in_flight = 0;
  int64_t held = 0;
};

class TrafficHistory {
 public:
  explicit TrafficHistory(TrafficHistoryOptions options = {});

  // Closes the intervals of `service` that ended by `now_ms`, taking `gauges` as
  // their end's; call it before an event changes the gauges. A service with no
  // history yet is left so (a read does not make one).
  void roll(const std::string& service, int64_t now_ms, TrafficGauges gauges);
  // As roll, starting a history for `service` if it has none (an event of it).
  void track(const std::string& service, int64_t now_ms, TrafficGauges gauges);
  // A request answered at `now_ms` (after track).
  void answered(const std::string& service, int64_t now_ms, int code, double latency_ms);
  // The closed intervals of `service`, oldest first (after roll); empty if it
  // has had no traffic (or was forgotten).
  std::vector<TrafficSample> samples(const std::string& service) const;
  const TrafficHistoryOptions& options() const { return options_; }

 private:
  struct Series {
    int64_t open_start_ms = 0;  // the open interval's start
    uint64_t requests = 0;
    uint64_t errors = 0;
    uint64_t seen = 0;  // latencies offered to the reservoir in the open interval
    std::vector<double> latencies_ms;
    std::deque<TrafficSample> closed;
    int64_t last_active_ms = 0;
  };
  int64_t interval_start(int64_t now_ms) const;
  Series& series(const std::string& service, int64_t now_ms);
  void close_open(Series& s, TrafficGauges gauges);
  void push(Series& s, TrafficSample sample);

  TrafficHistoryOptions options_;
  std::map<std::string, Series> series_;
  std::minstd_rand random_{20261130};  // reservoir replacement; fixed seed, no entropy needed
};

}  // namespace cadre::ingress

// The coordinator's own instruments, updated where things happen: messages by
// port and kind (the gateway's thread), placement latency (the scheduler actor),
// store commit latency (the store actor), autoscaler decisions (service actors).
// They are the one thing several threads write: counters and histograms, each
// behind its own mutex, never read back by the code that writes them.
//
// Gauges of state — nodes by state, jobs by phase, replicas per revision, the
// scheduler's queue — are not kept here: the actor that owns the state renders
// them when asked at scrape time (metrics_atom), so actors still share nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "protocol/messages.h"
#include "protocol/prometheus_text.h"

namespace cadre::actors {

// A latency histogram in seconds with fixed bounds.
class LatencyHistogram {
 public:
  explicit LatencyHistogram(std::vector<double> bounds);
  void observe(std::chrono::nanoseconds elapsed);
  void render(protocol::PrometheusText& out, const std::string& name,
              const protocol::PrometheusText::Labels& labels) const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> cumulative_;  // per bound: observations <= it
  uint64_t count_ = 0;
  double sum_ = 0;
};

class CoordinatorMetrics {
 public:
  CoordinatorMetrics();

  // A message the gateway accepted on `port` ("agents", "clients", "ingresses").
  void message(const char* port, protocol::MessageKind kind);
  // A gang placed `waited` after it reached the scheduler.
  void placed(std::chrono::nanoseconds waited);
  // One store write (a SQLite transaction, fsync included).
  void committed(std::chrono::nanoseconds took);
  // An autoscaler decision of `service`: more replicas (`up`) or fewer.
  void scaled(const std::string& service, bool up);

  void render(protocol::PrometheusText& out) const;

 private:
  mutable std::mutex mutex_;  // guards the two maps
  std::map<std::pair<std::string, protocol::MessageKind>, uint64_t> messages_;
  std::map<std::pair<std::string, bool>, uint64_t> scaled_;  // by (service, up)
  LatencyHistogram placement_;
  LatencyHistogram commit_;
};

}  // namespace cadre::actors

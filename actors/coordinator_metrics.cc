#include "actors/coordinator_metrics.h"

namespace cadre::actors {

LatencyHistogram::LatencyHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), cumulative_(bounds_.size(), 0) {}

void LatencyHistogram::observe(std::chrono::nanoseconds elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (seconds <= bounds_[i]) cumulative_[i]++;
  }
  count_++;
  sum_ += seconds;
}

void LatencyHistogram::render(protocol::PrometheusText& out, const std::string& name,
                              const protocol::PrometheusText::Labels& labels) const {
  std::lock_guard<std::mutex> lock(mutex_);
  out.histogram(name, labels, bounds_, cumulative_, count_, sum_);
}

// Placement: from a free node in microseconds to a gang that waited for capacity
// for minutes. Commits: an fsync on a fast disk to one on a slow shared one.
CoordinatorMetrics::CoordinatorMetrics()
    : placement_({0.0001, 0.001, 0.01, 0.1, 1, 10, 60, 600, 3600}),
      commit_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}) {}

void CoordinatorMetrics::message(const char* port, protocol::MessageKind kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  messages_[{port, kind}]++;
}

void CoordinatorMetrics::placed(std::chrono::nanoseconds waited) { placement_.observe(waited); }

void CoordinatorMetrics::committed(std::chrono::nanoseconds took) { commit_.observe(took); }

void CoordinatorMetrics::scaled(const std::string& service, bool up) {
  std::lock_guard<std::mutex> lock(mutex_);
  scaled_[{service, up}]++;
}

void CoordinatorMetrics::render(protocol::PrometheusText& out) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out.family("cadre_coordinator_messages_total", "counter",
               "Messages the coordinator accepted, by port and message kind.");
    for (const auto& [key, n] : messages_) {
      out.sample("cadre_coordinator_messages_total",
                 {{"port", key.first}, {"kind", protocol::kind_name(key.second)}},
                 static_cast<double>(n));
    }
    out.family("cadre_autoscaler_decisions_total", "counter",
               "Replica count changes the autoscaler made, by service and direction.");
    for (const auto& [key, n] : scaled_) {
      out.sample("cadre_autoscaler_decisions_total",
                 {{"service", key.first}, {"direction", key.second ? "up" : "down"}},
                 static_cast<double>(n));
    }
  }
  out.family("cadre_scheduler_placement_seconds", "histogram",
             "Time from a gang reaching the scheduler to its placement.");
  placement_.render(out, "cadre_scheduler_placement_seconds", {});
  out.family("cadre_store_commit_seconds", "histogram",
             "Time a store write took, SQLite transaction and fsync included.");
  commit_.render(out, "cadre_store_commit_seconds", {});
}

}  // namespace cadre::actors

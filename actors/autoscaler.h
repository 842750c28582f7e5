// How many replicas a revision should run for the load it has, decided as
// Knative's pod autoscaler (KPA) does: desired = observed concurrency (or request
// rate) / the per-replica target, averaged over a stable window (60 s); when the
// average over the short panic window (6 s) asks for at least `panic_threshold`
// times the replicas running, the autoscaler panics: it follows the panic window
// and never scales down until a whole stable window has passed without a panic.
// Pure: samples in, decisions out; the service state machine owns one per revision.
//
// Samples come from every ingress that routes the revision (each says what it saw
// since its last poll); the load is the sum over ingresses of each one's average.
//
// With a lower bound of 0 (scale to zero) a revision goes to zero replicas only
// after a whole stable window of samples without a request, and comes back to at
// least one as soon as a sample shows any (the ingress holds those requests).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace cadre::actors {

struct AutoscalePolicy {
  std::chrono::milliseconds stable_window{60000};
  std::chrono::milliseconds panic_window{6000};
  double panic_threshold = 2.0;  // panic when the panic window wants this many times the replicas
};

struct ScaleDecision {
  int32_t desired = 0;
  bool panic = false;
  double stable_load = 0;  // the metric averaged over the stable window
  double panic_load = 0;   // and over the panic window
};

class RevisionAutoscaler {
 public:
  explicit RevisionAutoscaler(AutoscalePolicy policy) : policy_(policy) {}

  // What `source` (an ingress) saw at `at_ms`: the average of the metric since its
  // last sample (concurrency: requests in flight; rps: requests per second).
  void observe(const std::string& source, int64_t at_ms, double value);
  // The replica count for now: `running` replicas, each meant to carry `target`,
  // bounded by [min, max]. With no samples at all, `running` stays.
  ScaleDecision decide(int64_t now_ms, int32_t running, double target, int32_t min, int32_t max);
  bool has_samples() const { return !samples_.empty(); }

 private:
  struct Sample {
    int64_t at_ms = 0;
    double value = 0;
  };
  double average(int64_t now_ms, std::chrono::milliseconds window) const;
  double latest(int64_t now_ms) const;  // the sum of each source's newest recent sample

  AutoscalePolicy policy_;
  std::map<std::string, std::deque<Sample>> samples_;  // by source, oldest first
  int64_t observed_since_ms_ = -1;                     // the first sample; -1: none yet
  int64_t panic_until_ms_ = 0;                         // 0: not panicking
  int32_t panic_floor_ = 0;  // while panicking, never below the most it asked for
};

}  // namespace cadre::actors

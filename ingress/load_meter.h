// What the ingress tells the autoscaler: for every revision it routes to, the
// requests in flight averaged over time (the area under the in-flight curve
// divided by the interval, as Knative's queue-proxy reports concurrency) and the
// request rate, since the previous report.
//
// Thread-safety: started/finished come from the proxy's threads, take() from the
// route poller; one mutex guards the meters.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "protocol/messages.h"

namespace cadre::ingress {

class LoadMeter {
 public:
  using Clock = std::chrono::steady_clock;

  void started(const std::string& service, const std::string& revision, Clock::time_point now);
  void finished(const std::string& service, const std::string& revision, Clock::time_point now);
  // The averages since the previous take(), and a new interval from `now`.
  // An idle revision is reported as 0 for ten minutes, then dropped.
  std::vector<protocol::RevisionLoad> take(Clock::time_point now);

 private:
  struct Meter {
    int in_flight = 0;
    double area = 0;  // request-seconds since the interval began
    int64_t started = 0;
    Clock::time_point last{};
    Clock::time_point since{};
    Clock::time_point busy{};  // last interval with a request
  };
  static constexpr std::chrono::minutes kForgetAfter{10};
  static void advance(Meter& m, Clock::time_point now);

  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Meter> meters_;  // by (service, revision)
};

}  // namespace cadre::ingress

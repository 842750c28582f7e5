// Readiness probes for serving replicas, as a kubelet runs them: an HTTP GET of
// the replica's readiness path (cadre-serve's /v2/health/ready) on its port, every
// `period_unready` until it answers 200, then every `period_ready`; a ready replica
// is unready again only after `failure_threshold` failed probes in a row, so one
// slow answer under load does not take it out of the routes.
//
// Threading: probes run on the prober's own thread (a probe may wait up to
// `timeout` for a replica); the agent's loop calls watch/forget/take_changes, which
// only touch the target table under the mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/status.h"

namespace cadre::agent {

struct ProbeTarget {
  std::string uid;  // replica instance
  std::string job;
  std::string host;  // the node's address: where the replica listens
  int port = 0;
  std::string path;  // e.g. "/v2/health/ready"
};

struct ReadinessChange {
  std::string uid;
  std::string job;
  bool ready = false;
  std::string message;  // why not, when not
};

struct ReadinessProberOptions {
  std::chrono::milliseconds period_unready{100};
  std::chrono::milliseconds period_ready{1000};
  std::chrono::milliseconds timeout{1000};
  int failure_threshold = 3;
};

// One HTTP GET; the status code, or why there is none.
Result<int> probe_http(const std::string& host, int port, const std::string& path,
                       std::chrono::milliseconds timeout);

class ReadinessProber {
 public:
  static Result<std::unique_ptr<ReadinessProber>> Create(ReadinessProberOptions options);
  ~ReadinessProber();

  void watch(ProbeTarget target);
  void forget(const std::string& uid);
  // Every target's state is reported again with its next probe (after the agent
  // registers anew, the coordinator may have missed changes).
  void report_all_again();
  // The changes since the last call, oldest first.
  std::vector<ReadinessChange> take_changes();

 private:
  using Clock = std::chrono::steady_clock;
  struct Target {
    ProbeTarget spec;
    bool ready = false;
    bool reported = false;  // `ready` has been reported
    int failures = 0;       // in a row
    std::string message;
    Clock::time_point due{};
  };
  explicit ReadinessProber(ReadinessProberOptions options) : options_(options) {}
  void run();

  ReadinessProberOptions options_;
  std::mutex mutex_;  // guards targets_, changes_, stop_
  std::condition_variable wake_;
  std::map<std::string, Target> targets_;  // by uid
  std::vector<ReadinessChange> changes_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cadre::agent

// Requests the ingress cannot send yet, held until they can: one to a revision at
// zero replicas waits while the coordinator starts a replica (Knative's
// activator), one to a revision whose replicas all have containerConcurrency
// requests in flight waits for a slot (Knative's queue-proxy breaker). Held in
// arrival order per service, at most `max_held_per_service` of them, each until
// its deadline (the request's own timeout).
//
// The activator does not know what a request is: it calls the entry's try_send
// when something may have changed (wake(): a slot freed, a new route table) and
// its expire once the deadline passed.
//
// Threading: one thread of its own calls try_send and expire, never under the
// activator's lock; hold() and wake() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "protocol/status.h"

namespace cadre::ingress {

struct ActivatorOptions {
  size_t max_held_per_service = 256;  // past this a request is answered 503 at once
  // How often held requests are tried again without a wake (a missed wake costs
  // this much latency, never a request).
  std::chrono::milliseconds retry_interval{50};
};

class Activator {
 public:
  using Clock = std::chrono::steady_clock;
  struct Held {
    std::string service;
    Clock::time_point deadline;
    std::function<bool()> try_send;  // true: it left (sent or answered); false: hold on
    std::function<void()> expire;    // its deadline passed: answer it
  };

  static Result<std::unique_ptr<Activator>> Create(const ActivatorOptions& options);
  ~Activator();

  // Unavailable when the service already holds max_held_per_service, or once
  // stopped.
  Status hold(Held held);
  // Answers (expires) everything held and holds nothing more; idempotent.
  void stop();
  // Something changed that may let held requests go: try them again now.
  void wake();
  size_t held() const { return held_.load(std::memory_order_relaxed); }

 private:
  explicit Activator(ActivatorOptions options) : options_(options) {}
  void run();
  // Tries `service`'s queue in order, up to the first that must still wait.
  void drain(const std::string& service);

  ActivatorOptions options_;
  std::mutex mutex_;  // guards queues_, woken_, stop_
  std::condition_variable changed_;
  std::map<std::string, std::deque<Held>> queues_;  // by service, oldest first
  bool woken_ = false;
  bool stop_ = false;
  std::atomic<size_t> held_{0};
  std::thread thread_;
};

}  // namespace cadre::ingress

// Event loops: N Asio io_contexts, each run by one thread of its own (the
// thread-per-core model of nginx and Envoy). A server's connection lives on one
// loop for its whole life, and work a handler starts there (the ingress's request
// to a replica) runs on the same loop, so a request crosses no thread — no lock
// handoff, no wake-up — unless its answer comes from elsewhere (a batcher, the
// activator). Asio's headers stay in event_loops.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace cadre::serving::http {

class EventLoops {
 public:
  // Starts `count` (at least 1) loops, each on its own thread. With `idle_poll`
  // above zero a loop that runs out of work keeps polling (epoll without a wait)
  // that long before it blocks: an event that comes meanwhile is handled without
  // the wake-up of a sleeping thread, and of a halted CPU — tens of microseconds
  // a crossing on a virtual machine, the most of what a proxy adds at low load.
  // It costs CPU only while traffic flows (Seastar polls 200 µs by default), so
  // it suits a process with cores of its own, not one sharing a replica's.
  static std::shared_ptr<EventLoops> Create(int count, std::chrono::microseconds idle_poll = {});
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  size_t size() const { return loops_.size(); }
  boost::asio::io_context& at(size_t index);
  // The index of the loop the calling thread runs; -1 on any other thread.
  int current() const;
  // The loops in turn, for work that comes from outside them (a new connection,
  // a request released by another thread).
  size_t next() { return next_.fetch_add(1, std::memory_order_relaxed) % loops_.size(); }
  // Stops every loop, joins its thread and destroys the handlers still queued
  // (now, while what they refer to still exists). The io_contexts themselves stay
  // until destruction, so sockets and timers on them can still be destroyed.
  // Idempotent; call it from outside the loops.
  void stop();

  class Loop;

 private:
  EventLoops() = default;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
  bool stopped_ = false;
};

}  // namespace cadre::serving::http

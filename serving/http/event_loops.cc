#include "serving/http/event_loops.h"

#include <boost/asio.hpp>

namespace cadre::serving::http {

namespace net = boost::asio;

// An io_context for one thread (the concurrency hint lets Asio skip waking other
// threads), whose queued handlers can be destroyed before the io_context is.
class EventLoops::Loop : public net::io_context {
 public:
  Loop() : net::io_context(1), work_(net::make_work_guard(*this)) {}
  void release() { work_.reset(); }
  // run(), but after each burst of handlers it polls for `idle_poll` before it
  // blocks (see Create).
  void run_polling(std::chrono::microseconds idle_poll) {
    if (idle_poll.count() <= 0) {
      run();
      return;
    }
    using Clock = std::chrono::steady_clock;
    while (!stopped()) {
      const auto until = Clock::now() + idle_poll;
      bool worked = false;
      while (!worked && !stopped() && Clock::now() < until) worked = poll() > 0;
      if (!worked) run_one();  // blocks until the next handler has run
    }
  }
  // execution_context::shutdown is protected: it abandons (destroys) every queued
  // handler but keeps the services, so I/O objects may still be destroyed.
  using net::io_context::shutdown;

 private:
  net::executor_work_guard<net::io_context::executor_type> work_;
};

namespace {
thread_local const EventLoops* tl_loops = nullptr;
thread_local int tl_index = -1;
}  // namespace

std::shared_ptr<EventLoops> EventLoops::Create(int count, std::chrono::microseconds idle_poll) {
  std::shared_ptr<EventLoops> loops(new EventLoops());
  for (int i = 0; i < std::max(1, count); ++i) loops->loops_.push_back(std::make_unique<Loop>());
  for (int i = 0; i < static_cast<int>(loops->loops_.size()); ++i) {
    loops->threads_.emplace_back([self = loops.get(), i, idle_poll] {
      tl_loops = self;
      tl_index = i;
      self->loops_[i]->run_polling(idle_poll);
    });
  }
  return loops;
}

EventLoops::~EventLoops() { stop(); }

net::io_context& EventLoops::at(size_t index) { return *loops_[index]; }

int EventLoops::current() const { return tl_loops == this ? tl_index : -1; }

void EventLoops::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) {
    loop->release();
    loop->stop();
  }
  for (auto& t : threads_) t.join();
  for (auto& loop : loops_) loop->shutdown();
}

}  // namespace cadre::serving::http

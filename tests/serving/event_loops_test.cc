// Event loops and the HTTP server on them: which loop a thread runs, what stop()
// does with queued work, connections spread over the loops and each served by
// one thread, and a stopping server that takes no new request on a kept-alive
// connection.
#include "serving/http/event_loops.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <set>

#include "serving/http/http_server.h"

namespace cadre::serving::http {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

TEST(EventLoops, EachLoopsThreadKnowsItsIndexAndNoOtherThreadHasOne) {
  auto loops = EventLoops::Create(3);
  ASSERT_EQ(loops->size(), 3u);
  EXPECT_EQ(loops->current(), -1);
  for (size_t i = 0; i < loops->size(); ++i) {
    std::promise<std::pair<int, std::thread::id>> seen;
    net::post(loops->at(i), [&] {
      seen.set_value({loops->current(), std::this_thread::get_id()});
    });
    const auto [index, thread] = seen.get_future().get();
    EXPECT_EQ(index, static_cast<int>(i));
    EXPECT_NE(thread, std::this_thread::get_id());
  }
  // Another set's thread is none of these loops'.
  auto other = EventLoops::Create(1);
  std::promise<int> seen;
  net::post(other->at(0), [&] { seen.set_value(loops->current()); });
  EXPECT_EQ(seen.get_future().get(), -1);
}

TEST(EventLoops, NextTakesTheLoopsInTurn) {
  auto loops = EventLoops::Create(2);
  std::multiset<size_t> taken;
  for (int i = 0; i < 6; ++i) taken.insert(loops->next());
  EXPECT_EQ(taken.count(0), 3u);
  EXPECT_EQ(taken.count(1), 3u);
}

TEST(EventLoops, StopDestroysQueuedWorkWhileWhatItHoldsStillExists) {
  auto loops = EventLoops::Create(1);
  // Block the loop, queue work behind it, then stop: the queued work never runs
  // but is destroyed by stop(), not later.
  std::promise<void> blocked, release;
  net::post(loops->at(0), [&] {
    blocked.set_value();
    release.get_future().wait();
  });
  blocked.get_future().wait();
  auto held = std::make_shared<int>(7);
  std::weak_ptr<int> watch = held;
  bool ran = false;
  net::post(loops->at(0), [held = std::move(held), &ran] { ran = true; });
  // Stopped while the first handler runs: no other handler runs after it.
  loops->at(0).stop();
  release.set_value();
  loops->stop();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(watch.expired()) << "stop() left the queued handler alive";
  loops->stop();  // idempotent
}

// CPU time this process has used, user and system.
std::chrono::microseconds process_cpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

TEST(EventLoops, APollingLoopRunsWorkFromAnyThreadThenSleepsWhenNoneComes) {
  using namespace std::chrono_literals;
  auto loops = EventLoops::Create(2, 2000us);
  // Work posted while a loop polls (just after other work) and while it sleeps
  // (long after) runs, on that loop, and timers fire.
  for (const auto pause : {0ms, 1ms, 50ms}) {
    for (size_t i = 0; i < loops->size(); ++i) {
      std::this_thread::sleep_for(pause);
      std::promise<int> ran;
      net::post(loops->at(i), [&] { ran.set_value(loops->current()); });
      EXPECT_EQ(ran.get_future().get(), static_cast<int>(i)) << "posted after " << pause.count();
      net::steady_timer timer(loops->at(i), 5ms);
      std::promise<void> fired;
      timer.async_wait([&](boost::system::error_code) { fired.set_value(); });
      EXPECT_EQ(fired.get_future().wait_for(2s), std::future_status::ready);
    }
  }
  // Idle past the poll: the loops block. Polling for good would spend ~2 CPU-seconds here.
  std::this_thread::sleep_for(50ms);
  const auto before = process_cpu();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(process_cpu() - before, 200ms) << "idle loops kept polling";
  const auto stop_started = std::chrono::steady_clock::now();
  loops->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 1s);
}

TEST(EventLoops, APollingLoopStopsWhilePolling) {
  using namespace std::chrono_literals;
  auto loops = EventLoops::Create(1, 100000us);  // polls 100 ms after each handler
  std::promise<void> ran;
  net::post(loops->at(0), [&] { ran.set_value(); });
  ran.get_future().wait();
  const auto stop_started = std::chrono::steady_clock::now();
  loops->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 1s);
}

// A blocking HTTP/1.1 client on one kept-alive connection.
class Client {
 public:
  explicit Client(int port) : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  // The status, or 0 when the connection closed without an answer.
  int get(const std::string& target) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.keep_alive(true);
    boost::system::error_code ec;
    bhttp::write(socket_, req, ec);
    if (ec) return 0;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket_, buffer_, res, ec);
    return ec ? 0 : res.result_int();
  }

 private:
  net::io_context io_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

TEST(HttpServerOnLoops, SpreadsConnectionsOverItsLoopsAndServesEachOnOneThread) {
  auto loops = EventLoops::Create(2);
  std::mutex mutex;
  std::set<int> loops_seen;
  HttpServerOptions options;
  options.port = 0;
  options.loops = loops;
  auto server = HttpServer::Create(options, [&](HttpRequest, Responder respond) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      loops_seen.insert(loops->current());
    }
    respond(HttpResponse{200, "text/plain", {}, "ok"});
  });
  ASSERT_TRUE(server.ok());
  Client a((*server)->port()), b((*server)->port());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.get("/"), 200);
    EXPECT_EQ(b.get("/"), 200);
  }
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(loops_seen, (std::set<int>{0, 1})) << "every handler ran on a loop, both were used";
}

TEST(HttpServerOnLoops, AStoppingServerTakesNoNewRequestOnAKeptAliveConnection) {
  std::atomic<int> handled{0};
  HttpServerOptions options;
  options.port = 0;
  options.threads = 1;
  auto server = HttpServer::Create(options, [&](HttpRequest, Responder respond) {
    ++handled;
    respond(HttpResponse{200, "text/plain", {}, "ok"});
  });
  ASSERT_TRUE(server.ok());
  Client kept((*server)->port());
  EXPECT_EQ(kept.get("/"), 200);
  (*server)->stop_accepting();
  EXPECT_EQ(kept.get("/"), 0) << "closed before any answer, so a client may send it elsewhere";
  EXPECT_EQ(handled.load(), 1);
}

}  // namespace
}  // namespace cadre::serving::http

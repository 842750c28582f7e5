#include "agent/readiness_prober.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cadre::agent {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

Result<int> probe_http(const std::string& host, int port, const std::string& path,
                       std::chrono::milliseconds timeout) {
  net::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, path, 11};
  request.set(http::field::host, host);
  request.set(http::field::connection, "close");
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // a health answer is tiny; never buffer more
  beast::error_code failure;
  const auto fail = [&](beast::error_code ec) {
    if (!failure) failure = ec;
  };
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return InvalidArgument("probe: '" + host + "' is not an IP address");
  // The whole exchange shares one deadline.
  stream.expires_after(timeout);
  stream.async_connect(net::ip::tcp::endpoint(address, static_cast<uint16_t>(port)),
                       [&](beast::error_code connect_ec) {
                         if (connect_ec) return fail(connect_ec);
                         http::async_write(stream, request, [&](beast::error_code w, size_t) {
                           if (w) return fail(w);
                           http::async_read(stream, buffer, parser,
                                            [&](beast::error_code r, size_t) {
                                              if (r) fail(r);
                                            });
                         });
                       });
  io.run();
  if (failure) {
    if (failure == beast::error::timeout) {
      return DeadlineExceeded("no answer within " + std::to_string(timeout.count()) + " ms");
    }
    return Unavailable(failure.message());
  }
  return static_cast<int>(parser.get().result_int());
}

Result<std::unique_ptr<ReadinessProber>> ReadinessProber::Create(ReadinessProberOptions options) {
  std::unique_ptr<ReadinessProber> p(new ReadinessProber(options));
  p->thread_ = std::thread([raw = p.get()] { raw->run(); });
  return p;
}

ReadinessProber::~ReadinessProber() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReadinessProber::watch(ProbeTarget target) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Target t;
    t.due = Clock::now();
    t.message = "not probed yet";
    const std::string uid = target.uid;
    t.spec = std::move(target);
    targets_[uid] = std::move(t);
  }
  wake_.notify_all();
}

void ReadinessProber::forget(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mutex_);
  targets_.erase(uid);
}

void ReadinessProber::report_all_again() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [uid, t] : targets_) t.reported = false;
}

std::vector<ReadinessChange> ReadinessProber::take_changes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(changes_, {});
}

void ReadinessProber::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    // The earliest due target, probed without the lock.
    auto next = targets_.end();
    for (auto it = targets_.begin(); it != targets_.end(); ++it) {
      if (next == targets_.end() || it->second.due < next->second.due) next = it;
    }
    if (next == targets_.end()) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    if (next->second.due > Clock::now()) {
      wake_.wait_until(lock, next->second.due);
      continue;
    }
    const ProbeTarget spec = next->second.spec;
    lock.unlock();
    auto code = probe_http(spec.host, spec.port, spec.path, options_.timeout);
    lock.lock();
    auto it = targets_.find(spec.uid);
    if (it == targets_.end()) continue;  // forgotten meanwhile
    Target& t = it->second;
    const bool ok = code.ok() && *code == 200;
    const bool was = t.ready;
    if (ok) {
      t.failures = 0;
      t.ready = true;
      t.message.clear();
    } else {
      t.failures++;
      t.message = code.ok() ? "HTTP " + std::to_string(*code) + " from " + spec.path
                            : code.status().message();
      if (!t.ready || t.failures >= options_.failure_threshold) t.ready = false;
    }
    if (t.ready != was || !t.reported) {
      changes_.push_back({spec.uid, spec.job, t.ready, t.ready ? "" : t.message});
      t.reported = true;
    }
    t.due = Clock::now() + (t.ready ? options_.period_ready : options_.period_unready);
  }
}

}  // namespace cadre::agent

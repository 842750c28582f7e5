#include "ingress/watch_stream.h"

#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "serving/http/http_connection.h"

namespace cadre::ingress {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using serving::http::HttpConnection;
using serving::http::HttpRequest;
using serving::http::HttpResponse;
using Clock = std::chrono::steady_clock;

// One open stream. Owned by its pending operations (timer, write, read).
class Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(std::shared_ptr<HttpConnection> c, HttpRequest read, WatchStreamOptions options,
         ApiHandler& api, std::shared_ptr<SharedReads> reads,
         std::shared_ptr<std::atomic<size_t>> open)
      : c_(std::move(c)),
        read_(std::move(read)),
        options_(options),
        api_(api),
        reads_(std::move(reads)),
        open_(std::move(open)),
        timer_(c_->stream.get_executor()),
        ends_(Clock::now() + options.lifetime) {}
  ~Stream() { open_->fetch_sub(1); }

  // Answers a plain HTTP error and closes (before the stream started).
  void refuse(const HttpResponse& r) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), 11);
    res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->body() = r.body;
    res->keep_alive(false);
    res->prepare_payload();
    c_->stream.expires_after(std::chrono::seconds(30));
    bhttp::async_write(
        c_->stream, *res,
        [self = shared_from_this(), res](beast::error_code, size_t) { self->close(); });
  }

  void start() {
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, 11);
    res->set(bhttp::field::content_type, "text/event-stream");
    res->set(bhttp::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    res->keep_alive(false);  // the stream ends the connection
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    c_->stream.expires_after(std::chrono::seconds(30));
    bhttp::async_write_header(
        c_->stream, *serializer,
        [self = shared_from_this(), res, serializer](beast::error_code ec, size_t) {
          if (ec) return self->close();
          // The deadline was the write's: the stream itself lasts (bounded by lifetime).
          self->c_->stream.expires_never();
          self->last_write_ = Clock::now();
          self->watch_close();
          self->ask();
        });
  }

 private:
  // A browser that goes away closes its end: a read returns then.
  void watch_close() {
    c_->stream.async_read_some(net::buffer(sink_),
                               [self = shared_from_this()](beast::error_code ec, size_t) {
                                 if (ec) return self->close();
                                 self->watch_close();  // bytes after the request mean nothing here
                               });
  }

  // Checks the caller, then reads (shared with the streams reading the same thing
  // as the same namespace); the answer comes on an API thread.
  void ask() {
    if (closed_) return;
    if (Clock::now() >= ends_) return close();
    std::string ns;
    if (auto refused = api_.check_read(read_, &ns)) return answered(std::move(*refused));
    std::weak_ptr<Stream> weak = shared_from_this();
    auto executor = c_->stream.get_executor();
    reads_->read(ns + "\n" + read_.target, read_, [weak, executor](HttpResponse r) {
      net::post(executor, [weak, r = std::move(r)]() mutable {
        if (auto self = weak.lock()) self->answered(std::move(r));
      });
    });
  }

  void answered(HttpResponse r) {
    if (closed_) return;
    std::string event;
    bool last = false;
    if (r.status == 200) {
      if (r.body != previous_) event = "event: snapshot\ndata: " + r.body + "\n\n";
      previous_ = std::move(r.body);
    } else {
      nlohmann::json error = nlohmann::json::object();
      try {
        error = nlohmann::json::parse(r.body);
      } catch (const std::exception&) {
        error["error"] = "the API answered " + std::to_string(r.status);
      }
      error["status"] = r.status;
      event = "event: error\ndata: " + error.dump() + "\n\n";
      previous_.clear();
      // Credentials ended or the object went: nothing to wait for.
      last = r.status == 401 || r.status == 403 || r.status == 404 || r.status == 400;
    }
    if (event.empty() && Clock::now() - last_write_ >= options_.keepalive)
      event = ": keepalive\n\n";
    if (event.empty()) return later();
    auto text = std::make_shared<std::string>(std::move(event));
    c_->stream.expires_after(std::chrono::seconds(30));
    net::async_write(c_->stream, net::buffer(*text),
                     [self = shared_from_this(), text, last](beast::error_code ec, size_t) {
                       if (ec || last) return self->close();
                       self->c_->stream.expires_never();
                       self->last_write_ = Clock::now();
                       self->later();
                     });
  }

  void later() {
    timer_.expires_after(options_.interval);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->ask();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    c_->stream.close();
  }

  std::shared_ptr<HttpConnection> c_;
  HttpRequest read_;
  WatchStreamOptions options_;
  ApiHandler& api_;  // checks the caller before each read
  std::shared_ptr<SharedReads> reads_;
  std::shared_ptr<std::atomic<size_t>> open_;
  net::steady_timer timer_;
  Clock::time_point ends_;
  Clock::time_point last_write_ = Clock::now();
  std::string previous_;  // the last snapshot sent
  std::array<char, 512> sink_{};
  bool closed_ = false;
};

}  // namespace

std::string WatchStreams::read_target(std::string_view watch_target) {
  if (watch_target.substr(0, kWatchPrefix.size()) != kWatchPrefix) return "";
  return std::string(kApiPrefix) + std::string(watch_target.substr(kWatchPrefix.size()));
}

void WatchStreams::take(std::shared_ptr<HttpConnection> connection) {
  HttpRequest read = serving::http::request_head(connection->parser->get());
  read.target = read_target(read.target);
  const size_t now_open = open_->fetch_add(1) + 1;
  auto stream = std::make_shared<Stream>(connection, read, options_, api_, reads_, open_);
  net::dispatch(connection->stream.get_executor(), [this, stream, read, now_open] {
    HttpResponse refused;
    if (read.method != "GET") {
      refused = HttpResponse{
          405, "application/json", {{"Allow", "GET"}}, R"({"error":"a watch takes GET"})"};
    } else if (now_open > options_.max_streams) {
      refused = HttpResponse{503,
                             "application/json",
                             {{"Retry-After", "5"}},
                             nlohmann::json{{"error", std::to_string(options_.max_streams) +
                                                          " watch streams are open"}}
                                 .dump()};
    } else if (auto answer = api_.check_headers(read)) {
      refused = std::move(*answer);
    } else {
      return stream->start();
    }
    stream->refuse(refused);
  });
}

}  // namespace cadre::ingress

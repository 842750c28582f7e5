#include "ingress/upstream_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cadre::ingress {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Connection {
  // Room for a typical answer at once: Beast reads what the buffer has room for
  // (at least 512 bytes), each read a recvmsg, an epoll round and a re-armed timer.
  explicit Connection(net::io_context& io) : stream(io) { buffer.reserve(16 * 1024); }
  beast::tcp_stream stream;
  beast::flat_buffer buffer;  // kept with the connection, so its room is made once
  Clock::time_point idle_since{};
};

class UpstreamClient::Impl {
 public:
  explicit Impl(const UpstreamClientOptions& options)
      : options_(options),
        loops_(options.loops ? options.loops : serving::http::EventLoops::Create(options.threads)),
        owns_loops_(!options.loops),
        idle_(loops_->size()) {}

  void stop() {
    if (owns_loops_) loops_->stop();
  }

  // Runs `start` on the caller's loop, or on the next one when the caller runs none.
  template <typename Start>
  void run_on_a_loop(Start start) {
    const int here = loops_->current();
    if (here >= 0) return start(static_cast<size_t>(here));
    const size_t loop = loops_->next();
    net::post(loops_->at(loop), [start = std::move(start), loop]() mutable { start(loop); });
  }

  // A pooled connection of this loop still young enough, or null. On `loop`'s thread.
  std::unique_ptr<Connection> take(size_t loop, const std::string& key) {
    auto& pool = idle_[loop][key];
    while (!pool.empty()) {
      auto c = std::move(pool.back());
      pool.pop_back();
      if (Clock::now() - c->idle_since < options_.idle_for) return c;
    }
    return nullptr;
  }
  void give_back(size_t loop, const std::string& key, std::unique_ptr<Connection> c) {
    c->idle_since = Clock::now();
    auto& pool = idle_[loop][key];
    if (pool.size() < options_.max_idle_per_endpoint) pool.push_back(std::move(c));
  }
  std::unique_ptr<Connection> fresh(size_t loop) {
    return std::make_unique<Connection>(loops_->at(loop));
  }
  const UpstreamClientOptions& options() const { return options_; }

 private:
  UpstreamClientOptions options_;
  std::shared_ptr<serving::http::EventLoops> loops_;  // outlives the pooled connections
  bool owns_loops_;
  // Per loop (only its thread touches its pools): address:port -> idle connections.
  std::vector<std::map<std::string, std::vector<std::unique_ptr<Connection>>>> idle_;
};

namespace {

// One request: connect (or reuse), write, read. A reused connection the replica
// had already closed fails before any byte of the answer: then the request is
// sent again on a fresh connection, once.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(UpstreamClient::Impl& client, UpstreamRequest request, UpstreamDone done)
      : client_(client), request_(std::move(request)), done_(std::move(done)) {
    key_ = request_.address + ":" + std::to_string(request_.port);
    req_.method_string(request_.method);
    req_.target(request_.target);
    req_.version(11);
    req_.set(http::field::host, key_);
    req_.keep_alive(true);
    if (!request_.content_type.empty()) req_.set(http::field::content_type, request_.content_type);
    if (!request_.inference_header.empty()) {
      req_.set("Inference-Header-Content-Length", request_.inference_header);
    }
    if (!request_.authorization.empty()) {
      req_.set(http::field::authorization, request_.authorization);
    }
    req_.body() = std::move(request_.body);
    req_.prepare_payload();
  }

  // On `loop`'s thread; the whole exchange stays there.
  void start(size_t loop) {
    loop_ = loop;
    conn_ = client_.take(loop_, key_);
    reused_ = conn_ != nullptr;
    if (reused_) return write();
    connect();
  }

 private:
  void connect() {
    conn_ = client_.fresh(loop_);
    boost::system::error_code ec;
    const auto address = net::ip::make_address(request_.address, ec);
    if (ec) return finish(InvalidArgument("bad replica address " + request_.address), false);
    conn_->stream.expires_after(client_.options().connect_timeout);
    conn_->stream.async_connect(
        tcp::endpoint(address, static_cast<uint16_t>(request_.port)),
        [self = shared_from_this()](beast::error_code e) {
          if (e)
            return self->finish(Unavailable("connecting to " + self->key_ + ": " + e.message()),
                                false);
          self->write();
        });
  }

  void write() {
    conn_->stream.expires_after(request_.timeout);
    http::async_write(conn_->stream, req_,
                      [self = shared_from_this()](beast::error_code e, size_t) {
                        if (e) return self->retry_or_fail(e, false);
                        self->read();
                      });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(client_.options().max_response_bytes);
    // Bytes past an earlier answer belong to no request of ours.
    conn_->buffer.consume(conn_->buffer.size());
    http::async_read(conn_->stream, conn_->buffer, *parser_,
                     [self = shared_from_this()](beast::error_code e, size_t) {
                       if (e) return self->retry_or_fail(e, !self->parser_->got_some());
                       self->answer();
                     });
  }

  // `nothing_back`: the replica answered nothing at all.
  void retry_or_fail(beast::error_code e, bool nothing_back) {
    if (reused_ && nothing_back && e != beast::error::timeout) {
      reused_ = false;  // a stale keep-alive connection: once more on a new one
      return connect();
    }
    if (e == beast::error::timeout) {
      return finish(DeadlineExceeded("replica " + key_ + " did not answer within " +
                                     std::to_string(request_.timeout.count()) + " ms"),
                    true);
    }
    finish(Unavailable("replica " + key_ + ": " + e.message()), true);
  }

  void answer() {
    auto& res = parser_->get();
    UpstreamResult r;
    r.reached = true;
    r.response.status = static_cast<int>(res.result_int());
    r.response.content_type = std::string(res[http::field::content_type]);
    r.response.inference_header = std::string(res["Inference-Header-Content-Length"]);
    r.response.body = std::move(res.body());
    const bool keep = res.keep_alive();
    conn_->stream.expires_never();
    if (keep) client_.give_back(loop_, key_, std::move(conn_));
    done_(std::move(r));
  }

  void finish(Status status, bool reached) {
    UpstreamResult r;
    r.status = std::move(status);
    r.reached = reached;
    done_(std::move(r));
  }

  UpstreamClient::Impl& client_;
  size_t loop_ = 0;
  UpstreamRequest request_;
  UpstreamDone done_;
  std::string key_;
  http::request<http::string_body> req_;
  std::unique_ptr<Connection> conn_;
  bool reused_ = false;
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace

Result<std::unique_ptr<UpstreamClient>> UpstreamClient::Create(
    const UpstreamClientOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  return std::unique_ptr<UpstreamClient>(new UpstreamClient(std::move(impl)));
}

UpstreamClient::UpstreamClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UpstreamClient::~UpstreamClient() { impl_->stop(); }

void UpstreamClient::send(UpstreamRequest request, UpstreamDone done) {
  auto exchange = std::make_shared<Exchange>(*impl_, std::move(request), std::move(done));
  impl_->run_on_a_loop([exchange](size_t loop) { exchange->start(loop); });
}

}  // namespace cadre::ingress

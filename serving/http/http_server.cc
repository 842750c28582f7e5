#include "serving/http/http_server.h"

#include "serving/http/http_connection.h"

#include <atomic>
#include <optional>
#include <thread>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cadre::serving::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// What a connection's read buffer holds from the start (it grows past this).
constexpr size_t kReadReserve = 16 * 1024;

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, HttpHandler handler)
      : options_(options),
        handler_(std::move(handler)),
        loops_(options.loops ? options.loops : EventLoops::Create(options.threads)),
        acceptor_(net::make_strand(loops_->at(0))),
        accept_retry_(acceptor_.get_executor()) {}

  Status start();
  void do_accept();
  // A connection starts (or, handed back by a taker, goes on) reading requests.
  void serve(HttpStream stream, beast::flat_buffer buffer, std::shared_ptr<void> slot, bool first);
  // A new TCP connection: its TLS handshake first when there is a certificate.
  void accepted(tcp::socket socket, std::shared_ptr<void> slot);
  void stop_accepting() {
    closing_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
  }
  void stop() { loops_->stop(); }

  const HttpServerOptions options_;
  HttpHandler handler_;
  std::shared_ptr<EventLoops> loops_;  // outlives the acceptor and timer below
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::unique_ptr<net::ssl::context> tls_;  // set when serving HTTPS
  // Open connections; a connection's slot gives its count back when the last
  // owner lets it go, which may be after the server is gone (a handler still
  // queued on a shared loop), hence shared.
  std::shared_ptr<std::atomic<int>> connections_ = std::make_shared<std::atomic<int>>(0);
  std::atomic<bool> closing_{false};  // stop_accepting: no new request is read either
  // Requests whose head was read and which are not yet with the handler (their
  // body being read): a stop waits for them (wait_for_requests_read).
  std::shared_ptr<std::atomic<int>> reading_ = std::make_shared<std::atomic<int>>(0);
  int port_ = 0;
};

HttpRequest request_head(const bhttp::request<bhttp::string_body>& req) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.content_type = std::string(req[bhttp::field::content_type]);
  r.inference_header_content_length = std::string(req["Inference-Header-Content-Length"]);
  r.authorization = std::string(req[bhttp::field::authorization]);
  r.cookie = std::string(req[bhttp::field::cookie]);
  r.origin = std::string(req[bhttp::field::origin]);
  r.host = std::string(req[bhttp::field::host]);
  r.fetch_site = std::string(req["Sec-Fetch-Site"]);
  r.csrf_token = std::string(req["X-Cadre-CSRF"]);
  return r;
}

namespace {

// One connection: reads a request, hands it to the handler, writes the answer,
// repeats while keep-alive. Lives as long as an operation or a pending answer
// holds it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpStream stream, beast::flat_buffer buffer, HttpServer::Impl* server,
          std::shared_ptr<void> slot, bool first)
      : stream_(std::move(stream)),
        buffer_(std::move(buffer)),
        server_(server),
        slot_(std::move(slot)),
        reading_count_(server->reading_),
        first_(first) {}
  ~Session() { done_reading(); }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  const HttpServerOptions& opts() const { return server_->options_; }

  void read_header() {
    parser_ = std::make_unique<bhttp::request_parser<bhttp::string_body>>();
    parser_->header_limit(static_cast<uint32_t>(opts().max_header_bytes));
    parser_->body_limit(opts().max_body_bytes);
    stream_.expires_after(first_ ? opts().request_timeout : opts().idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  // With a bearer token configured, only public paths go without it.
  bool authorized() const {
    if (opts().bearer_token.empty()) return true;
    const auto& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    for (const auto& prefix : opts().public_path_prefixes)
      if (target.substr(0, prefix.size()) == prefix) return true;
    const auto header = req[bhttp::field::authorization];
    return bearer_token_matches(std::string_view(header.data(), header.size()),
                                opts().bearer_token);
  }

  bool taken_over() const {
    if (!opts().takeover) return false;
    const auto& target = parser_->get().target();
    const std::string_view path(target.data(), target.size());
    for (const auto& prefix : opts().takeover_prefixes)
      if (path.substr(0, prefix.size()) == prefix) return true;
    return false;
  }

  // The connection, its unread bytes and the parser go to the taker; this session ends.
  void hand_over() {
    stream_.expires_never();
    auto connection = std::make_shared<HttpConnection>(std::move(stream_), std::move(buffer_),
                                                       std::move(parser_));
    connection->options = &opts();
    connection->slot = slot_;
    auto* server = server_;
    connection->resume = [server](std::shared_ptr<HttpConnection> c) {
      server->serve(std::move(c->stream), std::move(c->buffer), std::move(c->slot), false);
    };
    opts().takeover(std::move(connection));
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    // Counted before the stop flag is read, as the stop sets the flag before it reads
    // the count: either this request sees the stop, or the stop waits for it.
    reading_count_->fetch_add(1);
    reading_ = true;
    if (server_->closing_.load()) {
      // Stopping: a kept-alive connection's next request is not taken (its client
      // sees the close before any answer and may send it elsewhere).
      done_reading();
      return close();
    }
    if (taken_over()) {
      done_reading();
      return hand_over();
    }
    // Taken: from here it is answered, even if a stop begins while its body is read.
    if (!authorized()) {
      // Refused before the body is read; the connection closes after the answer.
      keep_alive_ = false;
      version_ = parser_->get().version();
      return write({401,
                    "application/json",
                    {{"WWW-Authenticate", "Bearer"}},
                    "{\"error\":\"missing or wrong bearer token (Authorization: Bearer ...)\"}"});
    }
    if (opts().check_headers) {
      if (auto refused = opts().check_headers(head_of(parser_->get()))) {
        keep_alive_ = false;
        version_ = parser_->get().version();
        return write(std::move(*refused));
      }
    }
    stream_.expires_after(opts().request_timeout);
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      // curl waits for this before sending a body over 1 KiB.
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == beast::error::timeout ||
        ec == net::error::operation_aborted)
      return close();
    keep_alive_ = false;
    if (ec == bhttp::error::body_limit)
      return write({413,
                    "application/json",
                    {},
                    "{\"error\":\"request body larger than " +
                        std::to_string(opts().max_body_bytes) + " bytes\"}"});
    if (ec == bhttp::error::header_limit)
      return write({431,
                    "application/json",
                    {},
                    "{\"error\":\"request headers larger than " +
                        std::to_string(opts().max_header_bytes) + " bytes\"}"});
    if (ec == net::error::no_buffer_space || ec == bhttp::error::buffer_overflow)
      return write({400, "application/json", {}, "{\"error\":\"request line or chunk too long\"}"});
    return write({400,
                  "application/json",
                  {},
                  "{\"error\":\"malformed HTTP request: " + ec.message() + "\"}"});
  }

  static HttpRequest head_of(const bhttp::request<bhttp::string_body>& req) {
    return request_head(req);
  }

  void on_read(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    stream_.expires_never();  // the handler answers; the batcher bounds its wait
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpRequest r = head_of(req);
    r.body = std::move(req.body());
    auto self = shared_from_this();
    server_->handler_(std::move(r), [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->write(std::move(response));
      });
    });
    done_reading();  // with the handler now
  }

  void write(HttpResponse r) {
    done_reading();
    res_ = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version_);
    res_->set(bhttp::field::server, "cadre-serve");
    res_->set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res_->set(k, v);
    res_->body() = std::move(r.body);
    res_->keep_alive(keep_alive_);
    res_->prepare_payload();
    stream_.expires_after(opts().write_timeout);
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    if (ec || !res_->keep_alive()) return close();
    res_.reset();
    first_ = false;
    read_header();
  }

  void close() { stream_.close(); }

  void done_reading() {
    if (!reading_) return;
    reading_ = false;
    reading_count_->fetch_sub(1);
  }

  HttpStream stream_;
  beast::flat_buffer buffer_;  // bounded: a request line or chunk header cannot grow it
  HttpServer::Impl* server_;
  std::shared_ptr<void> slot_;  // one of max_connections
  // The server's count of requests being read (Impl::reading_), shared because a
  // session may outlive its server; reading_: this one's request is in that count.
  std::shared_ptr<std::atomic<int>> reading_count_;
  bool reading_ = false;
  std::unique_ptr<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> res_;
  bool first_ = true;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

bool bearer_token_matches(std::string_view authorization, const std::string& token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() != kScheme.size() + token.size()) return false;
  const std::string_view scheme = authorization.substr(0, kScheme.size());
  if (!beast::iequals(beast::string_view(scheme.data(), scheme.size()),
                      beast::string_view(kScheme.data(), kScheme.size())))
    return false;
  return sodium_memcmp(authorization.data() + kScheme.size(), token.data(), token.size()) == 0;
}

namespace {

// The server's TLS settings: its certificate and key, TLS 1.2 or newer, OpenSSL's
// default cipher list for that (forward-secret suites first).
Result<std::unique_ptr<net::ssl::context>> tls_context(const HttpServerOptions& o) {
  if (o.tls_cert_file.empty() != o.tls_key_file.empty())
    return InvalidArgument(o.name + ": TLS needs both a certificate and a key file (given: " +
                           (o.tls_cert_file.empty() ? "key only" : "certificate only") + ")");
  auto context = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                           net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                           net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use,
                       ec);
  if (ec) return Internal(o.name + ": TLS options: " + ec.message());
  context->use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec)
    return InvalidArgument(o.name + ": TLS certificate '" + o.tls_cert_file +
                           "' cannot be used: " + ec.message());
  // OpenSSL also checks here that the key is the certificate's.
  context->use_private_key_file(o.tls_key_file, net::ssl::context::pem, ec);
  if (ec)
    return InvalidArgument(o.name + ": TLS key '" + o.tls_key_file +
                           "' cannot be used with certificate '" + o.tls_cert_file +
                           "': " + ec.message());
  return context;
}

}  // namespace

Status HttpServer::Impl::start() {
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    auto context = tls_context(options_);
    if (!context.ok()) return context.status();
    tls_ = std::move(context).value();
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec)
    return InvalidArgument(options_.name + ": host '" + options_.host +
                           "' is not an IP address: " + ec.message());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Unavailable(options_.name + ": cannot listen on " + options_.host + ":" +
                       std::to_string(options_.port) + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  do_accept();
  return Status::Ok();
}

void HttpServer::Impl::do_accept() {
  // Each connection goes to the next loop and stays there.
  auto loop = net::make_strand(loops_->at(loops_->next()));
  acceptor_.async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors (or another transient failure): retry shortly rather
      // than spin on an accept that fails at once.
      spdlog::warn("{}: accept failed: {}", options_.name, ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(50));
      accept_retry_.async_wait([this](beast::error_code e) {
        if (!e) do_accept();
      });
      return;
    }
    if (connections_->load() >= options_.max_connections) {
      // Over the cap: closed at once, before a byte is read.
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      // The slot is given back when the last owner of the connection lets it go.
      connections_->fetch_add(1);
      std::shared_ptr<void> slot(nullptr, [count = connections_](void*) { count->fetch_sub(1); });
      accepted(std::move(socket), std::move(slot));
    }
    do_accept();
  });
}

void HttpServer::Impl::accepted(tcp::socket socket, std::shared_ptr<void> slot) {
  auto buffer = beast::flat_buffer(options_.max_header_bytes + 64 * 1024);
  // Room for a typical request at once: Beast reads what the buffer has room for,
  // at least 512 bytes, so an empty buffer took a 5 KiB V2 request in ~10 reads,
  // each a recvmsg, an epoll round and a re-armed timer.
  buffer.reserve(kReadReserve);
  if (!tls_) {
    return serve(HttpStream(beast::tcp_stream(std::move(socket))), std::move(buffer),
                 std::move(slot), true);
  }
  // The handshake is bounded like a request's arrival, and holds its connection slot.
  auto stream = std::make_shared<HttpStream>(beast::tcp_stream(std::move(socket)), *tls_);
  stream->expires_after(options_.request_timeout);
  stream->async_handshake([this, stream, slot = std::move(slot),
                           buffer = std::move(buffer)](beast::error_code ec) mutable {
    if (ec) {
      spdlog::debug("{}: TLS handshake failed: {}", options_.name, ec.message());
      return stream->close();
    }
    serve(std::move(*stream), std::move(buffer), std::move(slot), true);
  });
}

void HttpServer::Impl::serve(HttpStream stream, beast::flat_buffer buffer,
                             std::shared_ptr<void> slot, bool first) {
  std::make_shared<Session>(std::move(stream), std::move(buffer), this, std::move(slot), first)
      ->start();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                       HttpHandler handler) {
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { stop(); }
int HttpServer::port() const { return impl_->port_; }
int HttpServer::open_connections() const { return impl_->connections_->load(); }
void HttpServer::stop_accepting() { impl_->stop_accepting(); }

bool HttpServer::wait_for_requests_read(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->reading_->load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}
void HttpServer::stop() { impl_->stop(); }

}  // namespace cadre::serving::http

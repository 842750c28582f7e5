// A client connection's byte stream: plain TCP, or TLS over it when the server has
// a certificate (HttpServerOptions::tls_cert_file). One type, so the server and
// the handlers that take connections over (the notebook proxy, watch streams) read
// and write either without knowing which: it is an Asio AsyncReadStream and
// AsyncWriteStream for completion handlers, as Beast's HTTP functions take.
//
// Timeouts are the TCP stream's (expires_after), so they bound TLS records too.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

namespace cadre::serving::http {

class HttpStream {
 public:
  using Tls = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using executor_type = boost::beast::tcp_stream::executor_type;

  explicit HttpStream(boost::beast::tcp_stream plain) : plain_(std::move(plain)) {}
  // TLS: async_handshake must complete before anything else is read or written.
  HttpStream(boost::beast::tcp_stream plain, boost::asio::ssl::context& context)
      : tls_(std::make_unique<Tls>(std::move(plain), context)) {}

  bool tls() const { return tls_ != nullptr; }
  boost::beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  boost::asio::ip::tcp::socket& socket() { return tcp().socket(); }
  executor_type get_executor() { return tcp().get_executor(); }
  void expires_after(std::chrono::steady_clock::duration d) { tcp().expires_after(d); }
  void expires_never() { tcp().expires_never(); }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

  // The server side of the TLS handshake (a plain stream completes at once).
  template <class Handler>
  void async_handshake(Handler&& handler) {
    if (tls_) return tls_->async_handshake(Tls::server, std::forward<Handler>(handler));
    boost::asio::post(get_executor(), [h = std::forward<Handler>(handler)]() mutable {
      h(boost::beast::error_code{});
    });
  }

  // Closes the TCP connection. TLS sends no close_notify first: every HTTP answer
  // here is delimited by its length (or ends a stream the client reconnects), so a
  // truncation cannot pass for a whole answer (RFC 9112 section 9.8), and waiting
  // for the peer's close_notify would hold the connection on a slow client.
  void close() {
    boost::beast::error_code ec;
    socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

 private:
  std::optional<boost::beast::tcp_stream> plain_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace cadre::serving::http

// The HTTP server over TLS: what clients that trust its certificate get, what a
// plain-HTTP client or a silent one gets, and the certificate errors it names.
#include "serving/http/http_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "protocol/tls_certificate.h"
#include "serving/http/http_connection.h"
#include "tests/support/temp_dir.h"

namespace cadre::serving::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct CertificateFiles {
  std::string cert;
  std::string key;
};

CertificateFiles make_certificate(const testing::TempDir& dir, const std::string& name) {
  CertificateFiles files{dir.file(name + ".crt"), dir.file(name + ".key")};
  const Status made = protocol::write_self_signed_certificate(files.cert, files.key);
  if (!made.ok()) throw std::runtime_error(made.message());
  return files;
}

class HttpServerTls : public ::testing::Test {
 protected:
  HttpServerTls() : cert_(make_certificate(dir_, "server")) {}

  HttpServerOptions tls_options() const {
    HttpServerOptions o;
    o.port = 0;
    o.tls_cert_file = cert_.cert;
    o.tls_key_file = cert_.key;
    return o;
  }

  static HttpHandler echo_target() {
    return [](HttpRequest r, Responder respond) {
      respond({200, "text/plain", {}, "you asked for " + r.target});
    };
  }

  tcp::endpoint endpoint(const HttpServer& server) const {
    return {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port())};
  }

  // A client that trusts only the test certificate and checks the server's name.
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> connect_tls(const HttpServer& server,
                                                                    net::ssl::context& ctx) {
    ctx.load_verify_file(cert_.cert);
    ctx.set_verify_mode(net::ssl::verify_peer);
    auto s = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, ctx);
    s->set_verify_callback(net::ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(*s).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(*s).connect(endpoint(server));
    s->handshake(net::ssl::stream_base::client);
    return s;
  }

  template <class Stream>
  static bhttp::response<bhttp::string_body> get(Stream& s, const std::string& target) {
    bhttp::request<bhttp::empty_body> req(bhttp::verb::get, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(s, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buffer, res);
    return res;
  }

  testing::TempDir dir_{"cadre-tls"};
  CertificateFiles cert_;
  net::io_context io_;
};

TEST_F(HttpServerTls, AnswersAClientThatTrustsItsCertificateAndKeepsTheConnection) {
  auto server = HttpServer::Create(tls_options(), echo_target()).value();
  net::ssl::context ctx(net::ssl::context::tls_client);
  auto s = connect_tls(*server, ctx);
  for (const std::string target : {"/v2/health/ready", "/second"}) {
    const auto res = get(*s, target);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "you asked for " + target);
  }
  EXPECT_EQ(server->open_connections(), 1) << "both requests went over one connection";
}

TEST_F(HttpServerTls, AClientThatDoesNotTrustTheCertificateCannotConnect) {
  auto server = HttpServer::Create(tls_options(), echo_target()).value();
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_verify_mode(net::ssl::verify_peer);  // the system's CAs only
  beast::ssl_stream<beast::tcp_stream> s(io_, ctx);
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(5));
  beast::get_lowest_layer(s).connect(endpoint(*server));
  beast::error_code ec;
  s.handshake(net::ssl::stream_base::client, ec);
  EXPECT_TRUE(ec) << "a self-signed certificate is not trusted by default";
}

TEST_F(HttpServerTls, APlainHttpClientGetsNoHttpAnswer) {
  auto server = HttpServer::Create(tls_options(), echo_target()).value();
  beast::tcp_stream s(io_);
  s.expires_after(std::chrono::seconds(5));
  s.connect(endpoint(*server));
  bhttp::request<bhttp::empty_body> req(bhttp::verb::get, "/v2/models", 11);
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(s, req);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  beast::error_code ec;
  bhttp::read(s, buffer, res, ec);
  EXPECT_TRUE(ec) << "got an HTTP answer in the clear: " << res.result_int();
}

TEST_F(HttpServerTls, ClosesAConnectionWhoseHandshakeNeverComes) {
  auto options = tls_options();
  options.request_timeout = std::chrono::milliseconds(300);
  auto server = HttpServer::Create(options, echo_target()).value();
  tcp::socket s(io_);
  s.connect(endpoint(*server));
  const auto start = std::chrono::steady_clock::now();
  char byte;
  beast::error_code ec;
  s.read_some(net::buffer(&byte, 1), ec);  // blocks until the server closes
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpServerTls, HandsTakenOverConnectionsOverWithTheirTlsStream) {
  auto options = tls_options();
  std::optional<bool> was_tls;
  options.takeover_prefixes = {"/stream/"};
  options.takeover = [&was_tls](std::shared_ptr<HttpConnection> c) {
    was_tls = c->stream.tls();
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::ok, 11);
    res->body() = "taken over";
    res->keep_alive(false);
    res->prepare_payload();
    bhttp::async_write(c->stream, *res, [c, res](beast::error_code, size_t) { c->stream.close(); });
  };
  auto server = HttpServer::Create(options, echo_target()).value();
  net::ssl::context ctx(net::ssl::context::tls_client);
  auto s = connect_tls(*server, ctx);
  const auto res = get(*s, "/stream/x");
  EXPECT_EQ(res.body(), "taken over");
  ASSERT_TRUE(was_tls.has_value());
  EXPECT_TRUE(*was_tls);
}

TEST_F(HttpServerTls, RefusesToStartWithAKeyThatIsNotTheCertificatesAndNamesTheFiles) {
  const auto other = make_certificate(dir_, "other");
  auto options = tls_options();
  options.tls_key_file = other.key;
  auto mismatched = HttpServer::Create(options, echo_target());
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find(other.key), std::string::npos)
      << mismatched.status().message();

  options = tls_options();
  options.tls_cert_file = dir_.file("missing.crt");
  auto missing = HttpServer::Create(options, echo_target());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.crt"), std::string::npos)
      << missing.status().message();

  options = tls_options();
  options.tls_key_file.clear();
  auto half = HttpServer::Create(options, echo_target());
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("both a certificate and a key"), std::string::npos)
      << half.status().message();
}

}  // namespace
}  // namespace cadre::serving::http

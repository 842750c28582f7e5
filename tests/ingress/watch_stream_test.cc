#include "ingress/watch_stream.h"

#include <gtest/gtest.h>

#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "protocol/user_tokens.h"
#include "serving/http/http_connection.h"

namespace cadre::ingress {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using serving::http::HttpServer;
using serving::http::HttpServerOptions;

TEST(WatchStreams, WatchTheReadTheirPathNames) {
  EXPECT_EQ(WatchStreams::read_target("/api/v1/watch/jobs?phase=Running"),
            "/api/v1/jobs?phase=Running");
  EXPECT_EQ(WatchStreams::read_target("/api/v1/watch/namespaces/a/trainjobs/fmnist/metrics"),
            "/api/v1/namespaces/a/trainjobs/fmnist/metrics");
  EXPECT_EQ(WatchStreams::read_target("/api/v1/jobs"), "") << "not a watch";
}

// A watch behind a real HTTP server, with no coordinator: what is refused is
// answered at once, as plain HTTP, before any stream starts.
class WatchStreamsTest : public ::testing::Test {
 protected:
  WatchStreamsTest() {
    protocol::RoutesReply routes;
    routes.version = 1;
    routes.tokens = {{protocol::token_sha256("cadre_a"), "team-a", 0}};
    table_.update(routes);
    ApiClientOptions options;
    options.coordinator.endpoint = "tcp://127.0.0.1:1";
    options.coordinator.insecure = true;
    options.coordinator.timeout = std::chrono::milliseconds(200);
    client_ = ApiClient::Create(options).value();
    api_ = std::make_unique<ApiHandler>(table_, sessions_, *client_, metrics_);
    watches_ = std::make_unique<WatchStreams>(WatchStreamOptions{}, *api_);
    HttpServerOptions http;
    http.port = 0;
    http.takeover_prefixes = {std::string(kWatchPrefix)};
    http.takeover = [this](std::shared_ptr<serving::http::HttpConnection> c) {
      watches_->take(std::move(c));
    };
    server_ =
        HttpServer::Create(http, [](serving::http::HttpRequest, serving::http::Responder respond) {
          respond({404, "application/json", {}, "{}"});
        }).value();
  }
  ~WatchStreamsTest() override { server_->stop(); }

  int status(const std::string& method, const std::string& target,
             const std::string& authorization) {
    boost::asio::io_context io;
    beast::tcp_stream s(io);
    s.connect(
        {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_->port())});
    bhttp::request<bhttp::empty_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
    bhttp::write(s, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buffer, res);
    return res.result_int();
  }

  RouteTable table_;
  LoginSessions sessions_;
  IngressMetrics metrics_;
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<ApiHandler> api_;
  std::unique_ptr<WatchStreams> watches_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(WatchStreamsTest, RefusesWhatTheApiWouldBeforeAnyStreamStarts) {
  EXPECT_EQ(status("GET", "/api/v1/watch/jobs", ""), 401) << "no credentials";
  EXPECT_EQ(status("GET", "/api/v1/watch/jobs", "Bearer cadre_guess"), 401);
  EXPECT_EQ(status("GET", "/api/v1/watch/namespaces/team-b/jobs", "Bearer cadre_a"), 403);
  EXPECT_EQ(status("GET", "/api/v1/watch/secrets", "Bearer cadre_a"), 404);
  EXPECT_EQ(status("GET", "/api/v1/watch/jobs?limit=0", "Bearer cadre_a"), 400);
  EXPECT_EQ(status("DELETE", "/api/v1/watch/jobs/x", "Bearer cadre_a"), 405);
  // Every refused stream is closed (its last write's handler ends it).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (watches_->open() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(watches_->open(), 0u);
}

}  // namespace
}  // namespace cadre::ingress

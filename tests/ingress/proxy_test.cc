#include "ingress/proxy.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "protocol/user_tokens.h"

namespace cadre::ingress {
namespace {

using serving::http::HttpRequest;
using serving::http::HttpResponse;
using serving::http::HttpServer;
using serving::http::HttpServerOptions;

// A stand-in replica: answers 200 with its name and records what it was sent.
class FakeReplica {
 public:
  explicit FakeReplica(std::string name, std::chrono::milliseconds delay = {}) {
    HttpServerOptions options;
    options.port = 0;
    auto server = HttpServer::Create(
        options, [this, name, delay](HttpRequest r, serving::http::Responder respond) {
          {
            std::lock_guard<std::mutex> lock(mutex_);
            authorizations_.push_back(r.authorization);
            ++requests_;
          }
          std::lock_guard<std::mutex> lock(mutex_);
          answering_.emplace_back([respond, name, delay] {
            std::this_thread::sleep_for(delay);
            respond(HttpResponse{200, "application/json", {}, "{\"from\":\"" + name + "\"}"});
          });
        });
    EXPECT_TRUE(server.ok());
    server_ = std::move(*server);
  }
  ~FakeReplica() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads.swap(answering_);
    }
    for (auto& t : threads) t.join();  // every answer is written before the server goes
    server_->stop();
  }
  int port() const { return server_->port(); }
  int requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::string last_authorization() {
    std::lock_guard<std::mutex> lock(mutex_);
    return authorizations_.empty() ? "" : authorizations_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> authorizations_;
  int requests_ = 0;
  std::vector<std::thread> answering_;
  std::unique_ptr<HttpServer> server_;
};

protocol::RoutesReply routes(const std::vector<int>& ports, int64_t timeout_ms = 5000) {
  protocol::ServiceRoute s;
  s.name = "fmnist";
  s.ns = "default";
  s.replica_token = "replica-secret";
  s.timeout_ms = timeout_ms;
  protocol::RevisionRoute rev{"fmnist-00001", 100, {}};
  for (int port : ports) rev.endpoints.push_back({"r" + std::to_string(port), "127.0.0.1", port});
  s.revisions = {rev};
  protocol::RoutesReply reply;
  reply.version = 1;
  reply.services = {s};
  reply.tokens = {{protocol::token_sha256("cadre_user"), "default", 0}};
  return reply;
}

class ProxyTest : public ::testing::Test {
 protected:
  ProxyTest() {
    auto upstream = UpstreamClient::Create(UpstreamClientOptions{});
    EXPECT_TRUE(upstream.ok());
    upstream_ = std::move(*upstream);
    proxy_ = std::make_unique<Proxy>(ProxyOptions{2}, table_, *upstream_, metrics_, load_);
  }

  // One request through the proxy, waited for.
  HttpResponse call(const std::string& target,
                    const std::string& authorization = "Bearer cadre_user") {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = "{}";
    r.authorization = authorization;
    std::mutex mutex;
    std::condition_variable done;
    std::optional<HttpResponse> response;
    proxy_->handle(r, [&](HttpResponse answer) {
      std::lock_guard<std::mutex> lock(mutex);
      response = std::move(answer);
      done.notify_all();
    });
    std::unique_lock<std::mutex> lock(mutex);
    EXPECT_TRUE(
        done.wait_for(lock, std::chrono::seconds(10), [&] { return response.has_value(); }));
    return response.value_or(HttpResponse{0, "", {}, ""});
  }

  RouteTable table_;
  IngressMetrics metrics_;
  LoadMeter load_;
  std::unique_ptr<UpstreamClient> upstream_;
  std::unique_ptr<Proxy> proxy_;
};

TEST_F(ProxyTest, SendsTheRequestWithTheReplicasOwnTokenNotTheUsers) {
  FakeReplica replica("a");
  table_.update(routes({replica.port()}));
  const auto r = call("/v2/models/fmnist/infer");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"from\":\"a\"}");
  EXPECT_EQ(replica.last_authorization(), "Bearer replica-secret");
  // Kept-alive connections carry the next requests.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call("/v2/models/fmnist/infer").status, 200);
  EXPECT_EQ(replica.requests(), 21);
}

TEST_F(ProxyTest, ARequestThatReachedNoReplicaIsTriedOnAnother) {
  FakeReplica replica("alive");
  // Port 1 refuses connections: the request never reached it, so it may go elsewhere.
  table_.update(routes({1, replica.port()}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(call("/v2/models/fmnist/infer").status, 200);
  EXPECT_EQ(replica.requests(), 10);
}

TEST_F(ProxyTest, AnswersWhyWhenNothingCanServe) {
  table_.update(routes({}));
  EXPECT_EQ(call("/v2/models/fmnist/infer").status, 503);
  EXPECT_EQ(call("/v2/models/other/infer").status, 404);
  EXPECT_EQ(call("/v2/models/fmnist/infer", "").status, 401);
  EXPECT_EQ(call("/v2/models/fmnist/infer", "Bearer cadre_guess").status, 401);
  EXPECT_EQ(call("/elsewhere").status, 404);
  table_.update(routes({1}));  // only a replica that cannot be reached
  EXPECT_EQ(call("/v2/models/fmnist/infer").status, 503);
}

TEST_F(ProxyTest, ASlowReplicaMeetsTheServicesTimeout) {
  FakeReplica slow("slow", std::chrono::milliseconds(1500));
  table_.update(routes({slow.port()}, 300));
  const auto r = call("/v2/models/fmnist/infer");
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(slow.requests(), 1);  // reached: never sent twice
}

// The status of a request whose headers announce `content_length` body bytes that
// never come; -1 when no answer arrives within 3 s (the server waits for the body).
int status_without_body(int port, const std::string& target, const std::string& authorization,
                        size_t content_length) {
  namespace bhttp = boost::beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  timeval wait{3, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  std::string head =
      "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  if (!authorization.empty()) head += "Authorization: " + authorization + "\r\n";
  head += "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(head));
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  boost::beast::error_code ec;
  bhttp::read(socket, buffer, res, ec);
  return ec ? -1 : static_cast<int>(res.result_int());
}

TEST_F(ProxyTest, ARequestItWouldRefuseIsAnsweredBeforeItsBodyIsRead) {
  table_.update(routes({1}));
  HttpServerOptions options;
  options.port = 0;
  options.check_headers = [this](const HttpRequest& head) { return proxy_->check_headers(head); };
  auto server = HttpServer::Create(options, [this](HttpRequest r, serving::http::Responder done) {
    proxy_->handle(std::move(r), std::move(done));
  });
  ASSERT_TRUE(server.ok());
  const int port = (*server)->port();
  const size_t big = 50u << 20;  // announced, never sent
  EXPECT_EQ(status_without_body(port, "/v2/models/fmnist/infer", "", big), 401);
  EXPECT_EQ(status_without_body(port, "/v2/models/fmnist/infer", "Bearer nope", big), 401);
  EXPECT_EQ(status_without_body(port, "/v2/models/other/infer", "Bearer cadre_user", big), 404);
  // The right token: the server waits for the body it was promised.
  EXPECT_EQ(status_without_body(port, "/v2/models/fmnist/infer", "Bearer cadre_user", 100), -1);
}

TEST_F(ProxyTest, ReportsItsOwnHealthAndMetrics) {
  EXPECT_EQ(call("/v2/health/ready").status, 503);  // no table yet
  FakeReplica replica("a");
  table_.update(routes({replica.port()}));
  EXPECT_EQ(call("/v2/health/ready").status, 200);
  EXPECT_EQ(call("/v2/health/live").status, 200);
  call("/v2/models/fmnist/infer");
  const auto metrics = call("/metrics");
  EXPECT_NE(metrics.body.find("cadre_ingress_requests_total{service=\"fmnist\",revision=\"fmnist-"
                              "00001\",code=\"200\"} 1"),
            std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace cadre::ingress

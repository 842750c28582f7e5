#include "ingress/proxy.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <future>
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
          std::lock_guard<std::mutex> lock(mutex_);
          authorizations_.push_back(r.authorization);
          ++requests_;
          most_at_once_ = std::max(most_at_once_, ++answering_now_);
          answering_.emplace_back([this, respond, name, delay] {
            std::this_thread::sleep_for(delay);
            {
              std::lock_guard<std::mutex> lock(mutex_);
              --answering_now_;
            }
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
  int most_at_once() {
    std::lock_guard<std::mutex> lock(mutex_);
    return most_at_once_;
  }
  std::string last_authorization() {
    std::lock_guard<std::mutex> lock(mutex_);
    return authorizations_.empty() ? "" : authorizations_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> authorizations_;
  int requests_ = 0;
  int answering_now_ = 0;
  int most_at_once_ = 0;
  std::vector<std::thread> answering_;
  std::unique_ptr<HttpServer> server_;
};

protocol::RoutesReply routes(const std::vector<int>& ports, int64_t timeout_ms = 5000,
                             bool scales_to_zero = false, int32_t container_concurrency = 0) {
  protocol::ServiceRoute s;
  s.name = "fmnist";
  s.ns = "default";
  s.replica_token = "replica-secret";
  s.timeout_ms = timeout_ms;
  s.container_concurrency = container_concurrency;
  protocol::RevisionRoute rev{"fmnist-00001", 100, {}, scales_to_zero};
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
    activator_ = Activator::Create(ActivatorOptions{2, std::chrono::milliseconds(50)}).value();
    proxy_ = std::make_unique<Proxy>(ProxyOptions{2}, table_, *upstream_, metrics_, load_,
                                     *activator_, &sessions_);
  }

  // What the activator still holds is answered through the proxy: it goes first.
  ~ProxyTest() override { activator_.reset(); }

  // A request through the proxy, answered later.
  std::future<HttpResponse> call_async(const std::string& target) {
    auto answered = std::make_shared<std::promise<HttpResponse>>();
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = "{}";
    r.authorization = "Bearer cadre_user";
    proxy_->handle(r, [answered](HttpResponse answer) { answered->set_value(std::move(answer)); });
    return answered->get_future();
  }
  // A new route table, as the route poller installs one.
  void install(const protocol::RoutesReply& reply) {
    table_.update(reply);
    activator_->wake();
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
  LoginSessions sessions_;
  IngressMetrics metrics_;
  LoadMeter load_;
  std::unique_ptr<Activator> activator_;
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
  options.request_timeout = std::chrono::seconds(4);  // the body that never comes, not 30 s
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

TEST_F(ProxyTest, ABrowserSessionCallsTheServicesOfItsNamespaceOnlyWithItsCsrfToken) {
  FakeReplica replica("a");
  table_.update(routes({replica.port()}));
  auto refused = [this](const std::string& cookie, const std::string& csrf) {
    HttpRequest head;
    head.method = "POST";
    head.target = "/v2/models/fmnist/infer";
    head.cookie = cookie;
    head.csrf_token = csrf;
    auto answer = proxy_->check_headers(head);
    return answer ? answer->status : 0;
  };
  const std::string mine = sessions_.create("default");
  const std::string theirs = sessions_.create("team-b");
  EXPECT_EQ(refused("cadre_session=" + mine, csrf_token(mine)), 0);
  EXPECT_EQ(refused("cadre_session=" + mine, ""), 403) << "a form posted from elsewhere";
  EXPECT_EQ(refused("cadre_session=" + mine, csrf_token(theirs)), 403);
  EXPECT_EQ(refused("cadre_session=" + theirs, csrf_token(theirs)), 403) << "another namespace";
  EXPECT_EQ(refused("cadre_session=forged", csrf_token("forged")), 401);
  EXPECT_EQ(refused("", ""), 401);
  // Through to the replica, which sees its own token, never the user's session.
  HttpRequest r;
  r.method = "POST";
  r.target = "/v2/models/fmnist/infer";
  r.body = "{}";
  r.cookie = "cadre_session=" + mine;
  r.csrf_token = csrf_token(mine);
  std::promise<HttpResponse> answered;
  proxy_->handle(r, [&](HttpResponse a) { answered.set_value(std::move(a)); });
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get().status, 200);
  EXPECT_EQ(replica.last_authorization(), "Bearer replica-secret");
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

TEST_F(ProxyTest, ARequestAtZeroReplicasIsHeldAsLoadUntilAReplicaIsReady) {
  table_.update(routes({}, 5000, true));
  auto answer = call_async("/v2/models/fmnist/infer");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "held";
  // The autoscaler hears of it: one request waiting, on the revision it would take.
  const auto load = load_.take(LoadMeter::Clock::now());
  ASSERT_EQ(load.size(), 1u);
  EXPECT_EQ(load[0].revision, "fmnist-00001");
  EXPECT_GT(load[0].concurrency, 0.5);
  EXPECT_NE(
      call("/metrics")
          .body.find("cadre_ingress_held_requests{service=\"fmnist\",reason=\"cold_start\"} 1"),
      std::string::npos);

  FakeReplica replica("started");
  install(routes({replica.port()}, 5000, true));
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const auto r = answer.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"from\":\"started\"}");
  EXPECT_NE(
      call("/metrics")
          .body.find("cadre_ingress_held_requests{service=\"fmnist\",reason=\"cold_start\"} 0"),
      std::string::npos);
}

TEST_F(ProxyTest, AHeldRequestIsAnsweredWhenItsTimeoutPassesAndTheHoldIsBounded) {
  table_.update(routes({}, 300, true));
  const auto start = std::chrono::steady_clock::now();
  auto first = call_async("/v2/models/fmnist/infer");
  auto second = call_async("/v2/models/fmnist/infer");
  // The activator holds two per service here: the third is answered at once. (Once
  // both are held: on a loaded machine the third could otherwise arrive first.)
  for (int i = 0; i < 200 && activator_->held() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(activator_->held(), 2u);
  const auto third = call("/v2/models/fmnist/infer");
  EXPECT_EQ(third.status, 503);
  EXPECT_NE(third.body.find("already waiting"), std::string::npos) << third.body;
  const auto r = first.get();
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("at zero replicas"), std::string::npos) << r.body;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::milliseconds(2000));
  EXPECT_EQ(second.get().status, 503);
}

TEST_F(ProxyTest, AStoppedActivatorAnswersWhatItHeldAndHoldsNothingMore) {
  table_.update(routes({}, 60000, true));
  auto held = call_async("/v2/models/fmnist/infer");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(held.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "held";
  activator_->stop();  // the ingress stopping
  ASSERT_EQ(held.wait_for(std::chrono::seconds(2)), std::future_status::ready)
      << "answered at once, not after its 60 s timeout";
  EXPECT_EQ(held.get().status, 503);
  const auto late = call("/v2/models/fmnist/infer");
  EXPECT_EQ(late.status, 503);
  EXPECT_NE(late.body.find("stopping"), std::string::npos) << late.body;
}

TEST_F(ProxyTest, ContainerConcurrencyHoldsRequestsPastTheLimitUntilASlotFrees) {
  FakeReplica replica("a", std::chrono::milliseconds(100));
  table_.update(routes({replica.port()}, 5000, false, 1));
  std::vector<std::future<HttpResponse>> answers;
  for (int i = 0; i < 2; ++i) answers.push_back(call_async("/v2/models/fmnist/infer"));
  for (auto& a : answers) EXPECT_EQ(a.get().status, 200);
  EXPECT_EQ(replica.requests(), 2);
  EXPECT_EQ(replica.most_at_once(), 1) << "containerConcurrency 1 means one at a time";
}

TEST_F(ProxyTest, ARevisionThatCannotStartFromZeroIsNotHeldFor) {
  table_.update(routes({}, 5000, false));  // no replica and none coming
  EXPECT_EQ(call("/v2/models/fmnist/infer").status, 503);
}

}  // namespace
}  // namespace cadre::ingress

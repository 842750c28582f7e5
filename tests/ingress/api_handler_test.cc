#include "ingress/api_handler.h"

#include <gtest/gtest.h>

#include "protocol/user_tokens.h"

namespace cadre::ingress {
namespace {

using serving::http::HttpRequest;

class ApiHandlerTest : public ::testing::Test {
 protected:
  ApiHandlerTest() {
    protocol::RoutesReply routes;
    routes.version = 1;
    routes.tokens = {{protocol::token_sha256("cadre_a"), "team-a", 0}};
    routes.services = {service("fmnist", "team-a"), service("theirs", "team-b")};
    table_.update(routes);
    ApiClientOptions options;
    options.coordinator.endpoint = "tcp://127.0.0.1:1";  // never reached by these tests
    options.coordinator.insecure = true;
    client_ = ApiClient::Create(options).value();
    handler_ = std::make_unique<ApiHandler>(table_, sessions_, *client_, metrics_);
  }

  static protocol::ServiceRoute service(const std::string& name, const std::string& ns) {
    protocol::ServiceRoute s;
    s.name = name;
    s.ns = ns;
    return s;
  }

  // What handle() answers (for calls the ingress answers itself).
  serving::http::HttpResponse handled(const std::string& target) {
    HttpRequest request;
    request.method = "GET";
    request.target = target;
    request.authorization = "Bearer cadre_a";
    serving::http::HttpResponse answer;
    handler_->handle(request, [&answer](serving::http::HttpResponse r) { answer = std::move(r); });
    return answer;
  }

  // The status check_headers answers with; 0 when the request may go on.
  int refused(const std::string& target, const std::string& authorization = "Bearer cadre_a",
              const std::string& method = "GET", const std::string& cookie = "",
              const std::string& origin = "", const std::string& csrf = "") {
    HttpRequest head;
    head.method = method;
    head.target = target;
    head.authorization = authorization;
    head.cookie = cookie;
    head.origin = origin;
    head.host = "127.0.0.1:8080";
    head.csrf_token = csrf;
    auto answer = handler_->check_headers(head);
    return answer ? answer->status : 0;
  }

  RouteTable table_;
  LoginSessions sessions_;
  IngressMetrics metrics_;
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<ApiHandler> handler_;
};

TEST_F(ApiHandlerTest, AnswersWhoCallsBeforeTheBodyIsRead) {
  EXPECT_EQ(refused("/api/v1/jobs"), 0);
  EXPECT_EQ(refused("/api/v1/jobs", ""), 401) << "no credentials";
  EXPECT_EQ(refused("/api/v1/jobs", "Bearer cadre_guess"), 401);
  EXPECT_EQ(refused("/api/v1/jobs", "Basic YTpi"), 401);
  EXPECT_EQ(refused("/api/v1/jobs", "", "GET", "cadre_session=forged"), 401);
  const std::string session = sessions_.create("team-a");
  EXPECT_EQ(refused("/api/v1/jobs", "", "GET", "cadre_session=" + session), 0);
}

TEST_F(ApiHandlerTest, KeepsACallerToItsNamespaceAndToReads) {
  EXPECT_EQ(refused("/api/v1/namespaces/team-a/jobs"), 0);
  EXPECT_EQ(refused("/api/v1/namespaces/team-b/jobs"), 403);
  EXPECT_EQ(refused("/api/v1/jobs/x", "Bearer cadre_a", "PUT"), 405);
  EXPECT_EQ(refused("/api/v1/jobs", "Bearer cadre_a", "DELETE"), 405);
  EXPECT_EQ(refused("/api/v1/secrets"), 404);
  EXPECT_EQ(refused("/api/v1/jobs?limit=5000"), 400);
}

TEST_F(ApiHandlerTest, AChangeComesFromThisIngressAndABrowserSessionProvesItsCsrfToken) {
  // A program with a token: no Origin, no CSRF token needed.
  EXPECT_EQ(refused("/api/v1/jobs/x", "Bearer cadre_a", "DELETE"), 0);
  // From a page elsewhere: refused, token or not.
  EXPECT_EQ(refused("/api/v1/jobs/x", "Bearer cadre_a", "DELETE", "", "https://evil.example"), 403);
  const std::string session = sessions_.create("team-a");
  const std::string cookie = "cadre_session=" + session;
  const std::string self = "http://127.0.0.1:8080";
  EXPECT_EQ(refused("/api/v1/jobs/x", "", "DELETE", cookie, self), 403) << "no CSRF token";
  EXPECT_EQ(refused("/api/v1/jobs/x", "", "DELETE", cookie, self, csrf_token("another")), 403);
  EXPECT_EQ(refused("/api/v1/jobs/x", "", "DELETE", cookie, "", csrf_token(session)), 403)
      << "a cookie without an Origin";
  EXPECT_EQ(
      refused("/api/v1/jobs/x", "", "DELETE", cookie, "https://evil.example", csrf_token(session)),
      403);
  EXPECT_EQ(refused("/api/v1/jobs/x", "", "DELETE", cookie, self, csrf_token(session)), 0);
  EXPECT_EQ(refused("/api/v1/apply", "", "POST", cookie, self, csrf_token(session)), 0);
  // Stopping a notebook is a change like any other.
  EXPECT_EQ(refused("/api/v1/notebooks/lab/stop", "", "POST", cookie, self), 403);
  EXPECT_EQ(refused("/api/v1/notebooks/lab/stop", "", "POST", cookie, self, csrf_token(session)),
            0);
  // Reading needs neither, logs and metric histories included.
  EXPECT_EQ(refused("/api/v1/jobs", "", "GET", cookie), 0);
  EXPECT_EQ(refused("/api/v1/jobs/x/logs", "", "GET", cookie), 0);
  EXPECT_EQ(refused("/api/v1/namespaces/team-b/jobs/x/metrics", "", "GET", cookie), 403);
}

TEST_F(ApiHandlerTest, AServicesTrafficIsAnsweredHereAndOnlyInItsNamespace) {
  metrics_.started("fmnist");
  metrics_.finished("fmnist", "fmnist-1", 200, std::chrono::milliseconds(3));
  const auto own = handled("/api/v1/inferenceservices/fmnist/traffic");
  EXPECT_EQ(own.status, 200) << own.body;
  const auto json = nlohmann::json::parse(own.body);
  EXPECT_EQ(json.at("name"), "fmnist");
  EXPECT_EQ(json.at("intervalSeconds"), 5.0);
  EXPECT_TRUE(json.at("points").is_array());
  EXPECT_EQ(handled("/api/v1/inferenceservices/theirs/traffic").status, 404);
  EXPECT_EQ(handled("/api/v1/inferenceservices/missing/traffic").status, 404);
}

TEST(ApiJson, AServicesTrafficHasRatesAndPercentilesPerInterval) {
  TrafficSample busy;
  busy.end_ms = 10'000;
  busy.requests = 50;
  busy.errors = 5;
  busy.p50_ms = 2;
  busy.p90_ms = 4;
  busy.p99_ms = 9;
  busy.held = 3;
  TrafficSample quiet;
  quiet.end_ms = 15'000;
  const auto json = traffic_json("fmnist", {busy, quiet}, std::chrono::milliseconds(5000));
  EXPECT_EQ(json.at("points").size(), 2u);
  const auto& p = json.at("points")[0];
  EXPECT_EQ(p.at("timeMs"), 10'000);
  EXPECT_EQ(p.at("requestsPerSecond"), 10.0);
  EXPECT_EQ(p.at("errorsPerSecond"), 1.0);
  EXPECT_EQ(p.at("latencyMs").at("p99"), 9.0);
  EXPECT_EQ(p.at("held"), 3);
  EXPECT_TRUE(json.at("points")[1].at("latencyMs").is_null());
}

TEST(ApiJson, LogsAndMetricsKeepEveryByteAsText) {
  protocol::LogsReply logs;
  logs.data = "epoch=1 <script>alert(1)</script>\n\xff\xfe";
  logs.offset = 10;
  logs.next_offset = 50;
  logs.finished = true;
  const auto json = logs_json(logs);
  EXPECT_EQ(json["offset"], 10);
  EXPECT_EQ(json["nextOffset"], 50);
  EXPECT_TRUE(json["finished"]);
  // Bytes that are not UTF-8 become U+FFFD when the answer is written, never an exception.
  const std::string body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  EXPECT_NE(body.find("<script>"), std::string::npos);
  EXPECT_NE(body.find("\xef\xbf\xbd"), std::string::npos);
  protocol::MetricsHistoryReply metrics;
  metrics.name = "fmnist";
  metrics.points = {{"fmnist-worker-0", "accuracy", 0.8, 1, 1000}};
  const auto m = metrics_json(metrics);
  EXPECT_EQ(m["points"][0]["name"], "accuracy");
  EXPECT_EQ(m["points"][0]["step"], 1);
  EXPECT_EQ(m["points"][0]["timeMs"], 1000);
  EXPECT_FALSE(m["truncated"]);
}

TEST(ApiJson, ShapesListsAndObjectsAsTheCliDoes) {
  protocol::GetReply reply;
  for (const char* name : {"b", "a"}) {
    protocol::JobStatus job;
    job.name = name;
    job.ns = "team-a";
    job.kind = "Job";
    reply.jobs.push_back(job);
  }
  ApiQuery list;
  list.kind = "jobs";
  auto json = api_json(list, reply);
  ASSERT_TRUE(json.ok());
  ASSERT_EQ((*json)["items"].size(), 2u);
  EXPECT_EQ((*json)["items"][0]["name"], "a");
  EXPECT_EQ((*json)["items"][0]["namespace"], "team-a");
  EXPECT_EQ((*json)["items"][0]["phase"], "Queued");
  ApiQuery one = list;
  one.name = "b";
  json = api_json(one, reply);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["name"], "b");
  EXPECT_TRUE(json->contains("events")) << "one object comes with its details";
  one.name = "c";
  EXPECT_EQ(api_json(one, reply).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(api_json(one, reply).status().message(), "job 'c' not found");
}

}  // namespace
}  // namespace cadre::ingress

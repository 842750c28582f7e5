#include "ingress/notebook_proxy.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>

#include "protocol/user_tokens.h"
#include "protocol/wall_clock.h"
#include "serving/http/http_connection.h"
#include "serving/http/http_server.h"

namespace cadre::ingress {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using serving::http::HttpRequest;
using serving::http::HttpResponse;
using serving::http::HttpServer;
using serving::http::HttpServerOptions;

struct Answer {
  int status = 0;
  std::string body;
  std::string location;
  std::string set_cookie;
  std::string retry_after;
};

// One HTTP/1.1 client connection to the ingress.
class Browser {
 public:
  explicit Browser(int port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(port)));
  }
  Answer call(bhttp::verb method, const std::string& target,
              std::vector<std::pair<std::string, std::string>> headers = {},
              const std::string& body = "") {
    bhttp::request<bhttp::string_body> req(method, target, 11);
    req.set(bhttp::field::host, host_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(socket_, req);
    bhttp::response<bhttp::string_body> res;
    beast::error_code ec;
    bhttp::read(socket_, buffer_, res, ec);
    Answer a;
    if (ec) {
      a.status = -1;
      a.body = ec.message();
      return a;
    }
    a.status = static_cast<int>(res.result_int());
    a.body = res.body();
    a.location = std::string(res[bhttp::field::location]);
    a.set_cookie = std::string(res[bhttp::field::set_cookie]);
    a.retry_after = std::string(res[bhttp::field::retry_after]);
    return a;
  }
  void set_host(std::string host) { host_ = std::move(host); }

 private:
  boost::asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::string host_ = "127.0.0.1:8080";
};

class NotebookProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions jupyter;
    jupyter.port = 0;
    jupyter.name = "fake-jupyter";
    auto server = HttpServer::Create(jupyter, [this](HttpRequest r, serving::http::Responder done) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seen_.push_back(r);
      }
      done(HttpResponse{
          200, "application/json", {{"X-Jupyter", "yes"}}, "{\"path\":\"" + r.target + "\"}"});
    });
    ASSERT_TRUE(server.ok());
    jupyter_ = std::move(*server);

    protocol::RoutesReply routes;
    routes.version = 1;
    routes.changed = true;
    routes.tokens.push_back({protocol::token_sha256("cadre_team"), "team", 0});
    routes.tokens.push_back({protocol::token_sha256("cadre_other"), "other", 0});
    routes.login_codes.push_back({protocol::token_sha256("code-1"), "team", wall_ms() + 60000});
    protocol::NotebookRoute alice;
    alice.name = "alice";
    alice.ns = "team";
    alice.phase = protocol::NotebookPhase::kRunning;
    alice.ready = true;
    alice.address = "127.0.0.1";
    alice.port = jupyter_->port();
    alice.job = "alice-1";
    alice.token = "jupyter-secret";
    routes.notebooks.push_back(alice);
    protocol::NotebookRoute bob = alice;
    bob.name = "bob";
    bob.phase = protocol::NotebookPhase::kStopped;
    bob.reason = "IdleCulled";
    bob.ready = false;
    routes.notebooks.push_back(bob);
    protocol::NotebookRoute carol = alice;
    carol.name = "carol";
    carol.phase = protocol::NotebookPhase::kPending;
    carol.message = "its server is starting";
    carol.ready = false;
    routes.notebooks.push_back(carol);
    table_.update(routes);

    proxy_ = std::make_unique<NotebookProxy>(NotebookProxyOptions{}, table_, sessions_);
    HttpServerOptions front;
    front.port = 0;
    front.name = "ingress";
    for (const char* prefix : NotebookProxy::kPrefixes) front.takeover_prefixes.push_back(prefix);
    front.takeover = [this](std::shared_ptr<serving::http::HttpConnection> c) {
      proxy_->take(std::move(c));
    };
    auto ingress = HttpServer::Create(front, [](HttpRequest, serving::http::Responder done) {
      done(HttpResponse{404, "application/json", {}, "{}"});
    });
    ASSERT_TRUE(ingress.ok());
    ingress_ = std::move(*ingress);
  }

  std::vector<HttpRequest> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

  RouteTable table_;
  LoginSessions sessions_;
  std::unique_ptr<NotebookProxy> proxy_;
  std::unique_ptr<HttpServer> jupyter_;
  std::unique_ptr<HttpServer> ingress_;
  std::mutex mutex_;
  std::vector<HttpRequest> seen_;
};

const std::pair<std::string, std::string> kTeamToken{"Authorization", "Bearer cadre_team"};

TEST_F(NotebookProxyTest, WithoutALoginItIs401AndABrowserIsSentToTheLoginPage) {
  Browser b(ingress_->port());
  EXPECT_EQ(b.call(bhttp::verb::get, "/notebook/team/alice/api/kernels").status, 401);
  Browser browser(ingress_->port());
  const auto page = browser.call(bhttp::verb::get, "/notebook/team/alice/tree",
                                 {{"Accept", "text/html,application/xhtml+xml"}});
  EXPECT_EQ(page.status, 303);
  EXPECT_EQ(page.location, "/login?next=/notebook/team/alice/tree");
  Browser wrong(ingress_->port());
  EXPECT_EQ(wrong
                .call(bhttp::verb::get, "/notebook/team/alice/api",
                      {{"Authorization", "Bearer cadre_nope"}})
                .status,
            401);
  EXPECT_TRUE(seen().empty());
}

TEST_F(NotebookProxyTest, AnotherNamespacesTokenIs403) {
  Browser b(ingress_->port());
  const auto a = b.call(bhttp::verb::get, "/notebook/team/alice/api",
                        {{"Authorization", "Bearer cadre_other"}});
  EXPECT_EQ(a.status, 403);
  EXPECT_NE(a.body.find("namespace 'other'"), std::string::npos);
  EXPECT_TRUE(seen().empty());
}

TEST_F(NotebookProxyTest, ForwardsWithJupytersTokenInPlaceOfTheUsersAndKeepsTheConnection) {
  Browser b(ingress_->port());
  auto a =
      b.call(bhttp::verb::get, "/notebook/team/alice/api/contents?type=directory", {kTeamToken});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "{\"path\":\"/notebook/team/alice/api/contents?type=directory\"}");
  a = b.call(bhttp::verb::put, "/notebook/team/alice/api/contents/x.txt", {kTeamToken},
             "{\"type\":\"file\",\"format\":\"text\",\"content\":\"hi\"}");
  ASSERT_EQ(a.status, 200) << a.body;  // the same connection, kept alive
  const auto requests = seen();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].authorization, "token jupyter-secret");
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].body, "{\"type\":\"file\",\"format\":\"text\",\"content\":\"hi\"}");
}

TEST_F(NotebookProxyTest, AStoppedNotebookIs503WithItsReasonAndAStartingOneSaysWhenToRetry) {
  Browser b(ingress_->port());
  const auto stopped = b.call(bhttp::verb::get, "/notebook/team/bob/api", {kTeamToken});
  EXPECT_EQ(stopped.status, 503);
  EXPECT_NE(stopped.body.find("Stopped (IdleCulled)"), std::string::npos) << stopped.body;
  EXPECT_NE(stopped.body.find("cadre notebook start bob"), std::string::npos);
  Browser c(ingress_->port());
  const auto pending = c.call(bhttp::verb::get, "/notebook/team/carol/api", {kTeamToken});
  EXPECT_EQ(pending.status, 503);
  EXPECT_EQ(pending.retry_after, "5");
  EXPECT_TRUE(seen().empty());
}

TEST_F(NotebookProxyTest, PathsThatClimbOutOrNameNoNotebookNeverReachJupyter) {
  for (const char* path : {"/notebook/team/alice/../../other/", "/notebook/team/alice/%2e%2e/x",
                           "/notebook/team/alice/a%2Fb"}) {
    Browser b(ingress_->port());
    EXPECT_EQ(b.call(bhttp::verb::get, path, {kTeamToken}).status, 400) << path;
  }
  Browser b(ingress_->port());
  EXPECT_EQ(b.call(bhttp::verb::get, "/notebook/team/zed/api", {kTeamToken}).status, 404);
  Browser bare(ingress_->port());
  const auto moved = bare.call(bhttp::verb::get, "/notebook/team/alice", {kTeamToken});
  EXPECT_EQ(moved.status, 301);
  EXPECT_EQ(moved.location, "/notebook/team/alice/");
  EXPECT_TRUE(seen().empty());
}

TEST_F(NotebookProxyTest, ALoginSetsAnHttpOnlyCookieThatOpensItsNamespaceOnly) {
  Browser b(ingress_->port());
  const auto login = b.call(
      bhttp::verb::post, "/login",
      {{"Origin", "http://127.0.0.1:8080"}, {"Content-Type", "application/x-www-form-urlencoded"}},
      "token=cadre_team&next=%2Fnotebook%2Fteam%2Falice%2Ftree");
  ASSERT_EQ(login.status, 303) << login.body;
  EXPECT_EQ(login.location, "/notebook/team/alice/tree");
  EXPECT_NE(login.set_cookie.find("HttpOnly"), std::string::npos);
  const std::string cookie = login.set_cookie.substr(0, login.set_cookie.find(';'));
  EXPECT_EQ(b.call(bhttp::verb::get, "/notebook/team/alice/tree", {{"Cookie", cookie}}).status,
            200);
  // A state change with the cookie needs this ingress as its Origin.
  EXPECT_EQ(b.call(bhttp::verb::post, "/notebook/team/alice/api/sessions",
                   {{"Cookie", cookie}, {"Origin", "http://127.0.0.1:8080"}}, "{}")
                .status,
            200);
  Browser evil(ingress_->port());
  EXPECT_EQ(evil.call(bhttp::verb::post, "/notebook/team/alice/api/sessions",
                      {{"Cookie", cookie}, {"Origin", "http://evil.example"}}, "{}")
                .status,
            403);
  Browser no_origin(ingress_->port());
  EXPECT_EQ(
      no_origin
          .call(bhttp::verb::delete_, "/notebook/team/alice/api/kernels/k", {{"Cookie", cookie}})
          .status,
      403);
  EXPECT_EQ(seen().size(), 2u);
  // Jupyter never sees Cadre's session.
  for (const auto& r : seen()) EXPECT_EQ(r.authorization, "token jupyter-secret");
}

TEST_F(NotebookProxyTest, ALoginFormPostedFromElsewhereIsRefused) {
  Browser b(ingress_->port());
  EXPECT_EQ(b.call(bhttp::verb::post, "/login",
                   {{"Origin", "http://evil.example"},
                    {"Content-Type", "application/x-www-form-urlencoded"}},
                   "token=cadre_team")
                .status,
            403);
  Browser c(ingress_->port());
  EXPECT_EQ(
      c.call(bhttp::verb::post, "/login", {{"Origin", "http://127.0.0.1:8080"}}, "token=cadre_nope")
          .status,
      401);
}

TEST_F(NotebookProxyTest, ALoginLinkWorksOnce) {
  Browser b(ingress_->port());
  const auto first = b.call(bhttp::verb::get, "/login?code=code-1&next=/notebook/team/alice/");
  EXPECT_EQ(first.status, 303);
  EXPECT_EQ(first.location, "/notebook/team/alice/");
  EXPECT_FALSE(first.set_cookie.empty());
  Browser again(ingress_->port());
  EXPECT_EQ(again.call(bhttp::verb::get, "/login?code=code-1").status, 401);
  Browser page(ingress_->port());
  const auto form = page.call(bhttp::verb::get, "/login?next=/notebook/team/alice/%22%3E");
  EXPECT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("<form method=\"post\" action=\"/login\">"), std::string::npos);
  EXPECT_EQ(form.body.find("alice/\">"), std::string::npos);  // next is never echoed raw
}

TEST_F(NotebookProxyTest, AWebSocketFromAForeignOriginIsRefusedBeforeJupyterHearsOfIt) {
  Browser b(ingress_->port());
  const auto a = b.call(bhttp::verb::get, "/notebook/team/alice/api/kernels/k/channels",
                        {kTeamToken,
                         {"Connection", "Upgrade"},
                         {"Upgrade", "websocket"},
                         {"Sec-WebSocket-Version", "13"},
                         {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                         {"Origin", "http://evil.example"}});
  EXPECT_EQ(a.status, 403);
  EXPECT_TRUE(seen().empty());
}

}  // namespace
}  // namespace cadre::ingress

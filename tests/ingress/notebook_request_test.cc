#include "ingress/notebook_request.h"

#include <gtest/gtest.h>

#include "ingress/login_sessions.h"
#include "ingress/notebook_watcher.h"
#include "ingress/route_table.h"
#include "protocol/user_tokens.h"
#include "protocol/wall_clock.h"

namespace cadre::ingress {
namespace {

TEST(NotebookTarget, NamesTheNamespaceAndNotebookAndKnowsABarePath) {
  auto t = parse_notebook_target("/notebook/team/alice/api/kernels?x=1");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->ns, "team");
  EXPECT_EQ(t->name, "alice");
  EXPECT_FALSE(t->bare);
  auto bare = parse_notebook_target("/notebook/team/alice");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->bare);
  EXPECT_FALSE(parse_notebook_target("/notebook/team/alice/")->bare);
}

TEST(NotebookTarget, RefusesEveryWayOfClimbingOutOfTheNotebook) {
  for (const char* path :
       {"/notebook/ns/name/../../other/", "/notebook/ns/name/%2e%2e/other/",
        "/notebook/ns/name/%2E%2E/x", "/notebook/ns/../other/x", "/notebook/ns/name/./x",
        "/notebook/ns/name/a%2fb", "/notebook/ns/name/a%5cb", "/notebook/ns/name/a%00b",
        "/notebook/ns/name/%4", "/notebook/ns/name/%zz"}) {
    auto t = parse_notebook_target(path);
    EXPECT_FALSE(t.ok()) << path;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << path;
  }
}

TEST(NotebookTarget, RefusesNamesThatAreNotDnsLabelsAndPathsWithoutANotebook) {
  EXPECT_EQ(parse_notebook_target("/notebook/Team/alice/").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_notebook_target("/notebook/team/al_ice/").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_notebook_target("/notebook/").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(parse_notebook_target("/notebook/team/").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(parse_notebook_target("/v2/models/x").status().code(), StatusCode::kNotFound);
}

TEST(SessionCookie, IsFoundAmongOthersNeverForwardedAndSecureOnlyOverTls) {
  const std::string header = "_xsrf=abc; cadre_session=s3cr3t ;username-x=\"2|1\"";
  EXPECT_EQ(cookie_value(header, kSessionCookie), "s3cr3t");
  EXPECT_EQ(cookie_value("a=1", kSessionCookie), "");
  EXPECT_EQ(without_cookie(header, kSessionCookie), "_xsrf=abc; username-x=\"2|1\"");
  EXPECT_EQ(without_cookie("cadre_session=x", kSessionCookie), "");
  const std::string set = session_set_cookie("id", 60, /*secure=*/false);
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(set.find("Max-Age=60"), std::string::npos);
  EXPECT_EQ(set.find("Secure"), std::string::npos);
  EXPECT_NE(session_set_cookie("id", 60, /*secure=*/true).find("; Secure"), std::string::npos);
}

TEST(OriginCheck, AllowsThisIngressAndRefusesForeignOrMissingOriginsWithACookie) {
  EXPECT_TRUE(check_origin("http://127.0.0.1:8080", "127.0.0.1:8080", "", true).ok());
  EXPECT_TRUE(check_origin("https://cadre.example", "cadre.example", "same-origin", true).ok());
  EXPECT_FALSE(check_origin("http://evil.example", "127.0.0.1:8080", "", true).ok());
  EXPECT_FALSE(check_origin("http://127.0.0.1:8081", "127.0.0.1:8080", "", false).ok());
  EXPECT_FALSE(check_origin("null", "127.0.0.1:8080", "", true).ok());
  // No Origin: a cookie alone is not enough; an Authorization header is.
  EXPECT_FALSE(check_origin("", "127.0.0.1:8080", "", true).ok());
  EXPECT_TRUE(check_origin("", "127.0.0.1:8080", "", false).ok());
  EXPECT_FALSE(check_origin("http://127.0.0.1:8080", "127.0.0.1:8080", "cross-site", true).ok());
  EXPECT_TRUE(changes_state("POST"));
  EXPECT_TRUE(changes_state("DELETE"));
  EXPECT_FALSE(changes_state("GET"));
}

TEST(JupyterTime, ReadsJupytersUtcTimestamps) {
  EXPECT_EQ(*parse_jupyter_time("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(*parse_jupyter_time("2026-11-30T03:10:02.123456Z"), 1796008202123);
  EXPECT_EQ(*parse_jupyter_time("2026-11-30T03:10:02+00:00"), 1796008202000);
  for (const char* bad : {"", "yesterday", "2026-13-01T00:00:00Z", "2026-11-30T03:10:02+02:00",
                          "2026-11-30T03:10:02.Z", "2026-11-30"}) {
    EXPECT_FALSE(parse_jupyter_time(bad).ok()) << bad;
  }
}

TEST(LoginForms, DecodeParametersAndOnlyRedirectToNotebookPaths) {
  EXPECT_EQ(query_parameter("/login?code=a%2Bb&next=/notebook/x/y/", "code"), "a+b");
  EXPECT_EQ(query_parameter("/login", "code"), std::nullopt);
  EXPECT_EQ(form_value("next=%2Fnotebook%2Fa%2Fb%2F&token=cadre_1+2", "token"), "cadre_1 2");
  EXPECT_EQ(safe_next("/notebook/team/alice/tree"), "/notebook/team/alice/tree");
  EXPECT_EQ(safe_next("/ui/jobs/fmnist"), "/ui/jobs/fmnist");
  for (const char* bad : {"https://evil.example/", "//evil.example/", "/notebook//evil", "/\\evil",
                          "/notebook/team/../x", "", "/v2/models/x", "/ui//evil.example",
                          "/ui/../v2", "/ui/x\"><script>", "/ui/x\r\nSet-Cookie: a=b"}) {
    EXPECT_EQ(safe_next(bad), "/ui/") << bad;
  }
}

TEST(LoginSessions, AreFoundByTheirIdUntilTheyExpire) {
  LoginSessions sessions({std::chrono::seconds(60), 100});
  const auto now = LoginSessions::Clock::now();
  const std::string id = sessions.create("team", now);
  EXPECT_EQ(id.size(), 64u);
  EXPECT_EQ(sessions.ns_of(id, now), "team");
  EXPECT_EQ(sessions.ns_of(id, now + std::chrono::seconds(61)), std::nullopt);
  EXPECT_EQ(sessions.ns_of(std::string(64, '0'), now), std::nullopt);
  EXPECT_EQ(sessions.ns_of("", now), std::nullopt);
}

TEST(LoginSessions, PastTheCapTheOldestEnds) {
  LoginSessions sessions({std::chrono::seconds(60), 3});
  const auto now = LoginSessions::Clock::now();
  const std::string first = sessions.create("a", now);
  for (int i = 1; i <= 3; ++i) sessions.create("a", now + std::chrono::milliseconds(i));
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_EQ(sessions.ns_of(first, now), std::nullopt);
}

protocol::RoutesReply routes_with_code(const std::string& code, int64_t expires_ms,
                                       uint64_t version = 1) {
  protocol::RoutesReply reply;
  reply.version = version;
  reply.changed = true;
  reply.tokens.push_back({protocol::token_sha256("cadre_tok"), "team", 0});
  reply.login_codes.push_back({protocol::token_sha256(code), "team", expires_ms});
  return reply;
}

TEST(LoginCodes, OpenOneSessionOnceEvenBeforeTheCoordinatorHears) {
  RouteTable table;
  table.update(routes_with_code("code-1", wall_ms() + 60000));
  EXPECT_EQ(table.token_namespace("cadre_tok"), "team");
  EXPECT_EQ(table.token_namespace("code-1"), std::nullopt);  // a code is not a token
  EXPECT_EQ(table.redeem_login_code("code-1"), "team");
  EXPECT_EQ(table.redeem_login_code("code-1"), std::nullopt);
  EXPECT_EQ(table.redeemed(), std::vector<std::string>{protocol::token_sha256("code-1")});
  // The coordinator still lists it (our report has not reached it): still used.
  table.update(routes_with_code("code-1", wall_ms() + 60000, 2));
  EXPECT_EQ(table.redeem_login_code("code-1"), std::nullopt);
  // Once the coordinator drops it, there is nothing left to report.
  protocol::RoutesReply without;
  without.version = 3;
  table.update(without);
  EXPECT_TRUE(table.redeemed().empty());
}

TEST(LoginCodes, AnExpiredOrUnknownCodeOpensNothing) {
  RouteTable table;
  table.update(routes_with_code("old", wall_ms() - 1));
  EXPECT_EQ(table.redeem_login_code("old"), std::nullopt);
  EXPECT_EQ(table.redeem_login_code("never-made"), std::nullopt);
  EXPECT_EQ(table.redeem_login_code(""), std::nullopt);
}

TEST(JupyterActivity, IsTheLatestOfTheServersAndKernelsActivityAndBusyWhenOneExecutes) {
  auto a = parse_jupyter_activity(
      R"({"started":"2026-11-30T03:00:00Z","last_activity":"2026-11-30T03:10:00.000Z",
          "connections":0,"kernels":2})",
      R"([{"id":"k1","execution_state":"idle","last_activity":"2026-11-30T03:20:00Z"},
          {"id":"k2","execution_state":"busy","last_activity":"2026-11-30T03:05:00Z"}])");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->kernels, 2);
  EXPECT_TRUE(a->busy);
  EXPECT_EQ(a->last_activity_ms, *parse_jupyter_time("2026-11-30T03:20:00Z"));
  auto idle = parse_jupyter_activity(R"({"last_activity":"2026-11-30T03:10:00Z"})", "[]");
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->busy);
  EXPECT_EQ(idle->kernels, 0);
  EXPECT_FALSE(parse_jupyter_activity("<html>", "[]").ok());
}

TEST(JupyterActivity, AKernelNotKnownToBeIdleCountsAsExecuting) {
  const std::string status = R"({"last_activity":"2026-11-30T03:10:00Z"})";
  auto kernel = [&](const std::string& state) {
    auto a = parse_jupyter_activity(status, R"([{"id":"k1","execution_state":)" + state + "}]");
    EXPECT_TRUE(a.ok()) << state;
    return a.ok() && a->busy;
  };
  EXPECT_TRUE(kernel(R"("busy")"));
  // Starting or restarting: Jupyter does not know yet (and sometimes never learns).
  EXPECT_TRUE(kernel(R"("starting")"));
  EXPECT_TRUE(kernel(R"("restarting")"));
  EXPECT_FALSE(kernel(R"("idle")"));
  EXPECT_FALSE(kernel(R"("dead")"));
  // A server that gives no state says nothing runs.
  EXPECT_FALSE(kernel(R"(null)"));
  EXPECT_FALSE(kernel(R"(7)"));
  auto unsaid = parse_jupyter_activity(status, R"([{"id":"k1"}])");
  ASSERT_TRUE(unsaid.ok());
  EXPECT_FALSE(unsaid->busy);
  EXPECT_EQ(unsaid->kernels, 1);
}

TEST(JupyterActivity, RefusesWhatIsNotJupyters) {
  EXPECT_FALSE(parse_jupyter_activity("<html>", "[]").ok());
  EXPECT_FALSE(parse_jupyter_activity(R"({"last_activity":"x"})", "[]").ok());
  EXPECT_FALSE(parse_jupyter_activity(R"({"last_activity":"2026-11-30T03:10:00Z"})", "{}").ok());
  EXPECT_FALSE(parse_jupyter_activity(R"({"last_activity":"2026-11-30T03:10:00Z"})", "[1]").ok());
}

}  // namespace
}  // namespace cadre::ingress

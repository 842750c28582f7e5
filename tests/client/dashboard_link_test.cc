#include "client/dashboard_link.h"

#include <gtest/gtest.h>

#include <sstream>

namespace cadre::client {
namespace {

// Records the token request and answers with a code and the ingress's URL.
class CodeCoordinator : public Coordinator {
 public:
  std::string ingress_url = "http://127.0.0.1:8080/";
  protocol::TokenCreateRequest asked;

  Result<protocol::TokenCreateReply> create_token(
      const protocol::TokenCreateRequest& request) override {
    asked = request;
    protocol::TokenCreateReply reply;
    reply.token = "cadre_code";
    reply.ingress_url = ingress_url;
    return reply;
  }
  Result<protocol::ApplyReply> apply(const protocol::ApplyRequest&) override { return unused(); }
  Result<protocol::GetReply> get(const protocol::GetRequest&) override { return unused(); }
  Result<protocol::DeleteReply> remove(const protocol::DeleteRequest&) override { return unused(); }
  Result<protocol::LogsReply> logs(const protocol::LogsRequest&) override { return unused(); }
  Result<protocol::RetryReply> retry(const protocol::RetryRequest&) override { return unused(); }
  Result<protocol::CordonReply> cordon(const protocol::CordonRequest&) override { return unused(); }
  Result<protocol::SuspendReply> suspend(const protocol::SuspendRequest&) override {
    return unused();
  }
  Result<protocol::MetricsHistoryReply> metrics_history(
      const protocol::MetricsHistoryRequest&) override {
    return unused();
  }

 private:
  static Status unused() { return FailedPrecondition("not part of this test"); }
};

TEST(DashboardLink, AsksForAOneMinuteLoginCodeAndPrintsTheIngressLinkToTheDashboard) {
  CodeCoordinator coordinator;
  std::ostringstream out;
  ASSERT_TRUE(print_dashboard_link(coordinator, "team-a", out).ok());
  EXPECT_TRUE(coordinator.asked.login_code);
  EXPECT_EQ(coordinator.asked.ns, "team-a");
  EXPECT_EQ(coordinator.asked.login_code_lifetime_ms, 60000);
  EXPECT_NE(out.str().find("http://127.0.0.1:8080/login?code=cadre_code&next=/ui/\n"),
            std::string::npos)
      << out.str();
}

TEST(DashboardLink, SaysSoWhenNoIngressCouldRedeemTheCode) {
  CodeCoordinator coordinator;
  coordinator.ingress_url = "";
  std::ostringstream out;
  const Status s = print_dashboard_link(coordinator, "default", out);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("no cadre-ingress"), std::string::npos);
  EXPECT_EQ(out.str(), "") << "no link that could not work";
}

}  // namespace
}  // namespace cadre::client

#include "client/dashboard_link.h"

namespace cadre::client {

Status print_dashboard_link(Coordinator& coordinator, const std::string& ns, std::ostream& out) {
  protocol::TokenCreateRequest request;
  request.ns = ns;
  request.description = "cadre dashboard";
  request.login_code = true;
  request.login_code_lifetime_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(kDashboardLinkLifetime).count();
  ASSIGN_OR_RETURN(protocol::TokenCreateReply code, coordinator.create_token(request));
  if (code.ingress_url.empty()) {
    return FailedPrecondition(
        "no cadre-ingress has reached the coordinator yet: the dashboard is served by it "
        "(cadre local up starts one)");
  }
  std::string origin = code.ingress_url;
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  out << "Open within " << kDashboardLinkLifetime.count() << " s (works once, for one browser):\n"
      << origin << "/login?code=" << code.token << "&next=/ui/\n";
  return Status::Ok();
}

}  // namespace cadre::client

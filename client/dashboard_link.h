// `cadre dashboard`: a one-time login link to the web dashboard, so a user of the
// CLI reaches it in one step without copying a token into a browser.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "client/coordinator.h"
#include "protocol/status.h"

namespace cadre::client {

// How long the link works: one browser may use it once within this time.
inline constexpr std::chrono::seconds kDashboardLinkLifetime{60};

// Prints `<ingress>/login?code=...&next=/ui/` for namespace `ns`; the ingress
// exchanges the code for a session cookie and forgets it. FailedPrecondition when
// no ingress has reached the coordinator (nothing could redeem the code).
Status print_dashboard_link(Coordinator& coordinator, const std::string& ns, std::ostream& out);

}  // namespace cadre::client

// The pure rules of the notebook proxy (docs/notebooks.md), apart from its sockets
// so they are tested on their own: which notebook a path names (and refusing paths
// that would climb out of it), the session cookie, the Origin check that stands in
// for Jupyter's own (Jupyter skips it for token-authenticated requests, and the
// proxy authenticates every request it forwards with Jupyter's token), and the
// timestamps Jupyter reports activity with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::ingress {

inline constexpr std::string_view kNotebookPrefix = "/notebook/";
inline constexpr std::string_view kSessionCookie = "cadre_session";

struct NotebookTarget {
  std::string ns;
  std::string name;
  bool bare = false;  // "/notebook/<ns>/<name>" without the slash Jupyter's base_url ends in
};

// The notebook a request target (path and query) names. InvalidArgument for a
// path with a "." or ".." segment, an encoded slash, backslash or NUL in it, or a
// namespace or name that is not a Cadre name; NotFound for one that names no
// notebook at all ("/notebook/" alone).
Result<NotebookTarget> parse_notebook_target(std::string_view target);

// The value of cookie `name` in a Cookie header; empty when it is not there.
std::string cookie_value(std::string_view cookie_header, std::string_view name);
// The Cookie header without cookie `name` (Jupyter never sees Cadre's session).
std::string without_cookie(std::string_view cookie_header, std::string_view name);
// Set-Cookie for a session: HttpOnly, SameSite=Strict, Path=/, Max-Age, and Secure
// when it is set over TLS (`secure`), so the browser never sends it in the clear.
std::string session_set_cookie(const std::string& session, int64_t max_age_seconds, bool secure);

// Whether a request may change state or open a WebSocket with these headers.
// A browser sends Origin with every such request; it must be this ingress itself
// (http or https and the Host it asked for). A request without Origin is allowed
// only when authenticated by an Authorization header, which a browser never
// attaches on its own; one with a cookie alone is refused. Sec-Fetch-Site
// cross-site is refused too.
Status check_origin(std::string_view origin, std::string_view host, std::string_view fetch_site,
                    bool by_cookie);

// Whether the method changes state (everything but GET, HEAD and OPTIONS).
bool changes_state(std::string_view method);

// Jupyter's ISO 8601 UTC time ("2026-11-30T03:10:02.123456Z", or "+00:00") in
// milliseconds since the epoch.
Result<int64_t> parse_jupyter_time(std::string_view text);

// Jupyter's api/status and api/kernels answers as one reading of a server's
// activity (name and job left empty); an error names what did not parse.
Result<protocol::NotebookActivity> parse_jupyter_activity(const std::string& status_json,
                                                          const std::string& kernels_json);

// A query parameter, percent-decoded; nullopt when it is not there.
std::optional<std::string> query_parameter(std::string_view target, std::string_view name);
// "a=1&b=2" form bodies (application/x-www-form-urlencoded), percent-decoded.
std::optional<std::string> form_value(std::string_view body, std::string_view name);
// Where a login may send the browser afterwards: only a path on this ingress
// ("/notebook/...", "/ui/..."); anything else ("//evil", "https://...", "/\\evil")
// is the dashboard, "/ui/".
std::string safe_next(std::string_view next);

}  // namespace cadre::ingress

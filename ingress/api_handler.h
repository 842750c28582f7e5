// The ingress's HTTP API (docs/api.md): /api/v1/... as JSON, read through the
// coordinator's wire as the caller (an ApiRequest on the ingress port, scoped to
// the caller's namespace), in the shapes `cadre get -o json` prints.
//
// Callers authenticate with a Cadre token (Authorization: Bearer) or a browser
// session (the cadre_session cookie a /login made); either gives the namespace
// they see. Both are checked when the headers arrive, before a body is read.
// A change (DELETE, POST) must come from this ingress's own origin, and with a
// session also carry the session's CSRF token (X-Cadre-CSRF): a page elsewhere can
// make a browser send the cookie, never the token. Answers are never cached
// (Cache-Control: no-store) nor sniffed (nosniff).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ingress/api_calls.h"
#include "ingress/api_client.h"
#include "ingress/api_request.h"
#include "ingress/ingress_metrics.h"
#include "ingress/login_sessions.h"
#include "ingress/route_table.h"
#include "serving/http/http_server.h"

namespace cadre::ingress {

class ApiHandler {
 public:
  ApiHandler(const RouteTable& table, LoginSessions& sessions, ApiClient& client,
             IngressMetrics& metrics)
      : table_(table), sessions_(sessions), client_(client), metrics_(metrics) {}

  // Whether a request path is the API's ("/api/" and below).
  static bool handles(std::string_view path);
  // HttpServerOptions::check_headers for API paths: who calls, with which method,
  // and whether the path exists, answered before a body is read; nullopt: go on.
  std::optional<serving::http::HttpResponse> check_headers(
      const serving::http::HttpRequest& head) const;
  // For a watch stream about to read: the refusal the read would get now (as
  // check_headers), or nullopt with `*ns` set to the namespace it reads as.
  std::optional<serving::http::HttpResponse> check_read(const serving::http::HttpRequest& request,
                                                        std::string* ns) const;
  // An HttpHandler: never blocks; answers from an API client thread.
  void handle(serving::http::HttpRequest request, serving::http::Responder respond);

 private:
  struct Caller {
    std::string ns;
    std::string user;  // a token's id, or "session"
    bool by_cookie = false;
    std::string session;  // the session id (by_cookie): its CSRF token is derived from it
  };
  // The caller, or the answer a caller without credentials gets (401).
  Result<Caller> authenticate(const serving::http::HttpRequest& request) const;
  std::optional<serving::http::HttpResponse> refusal(const serving::http::HttpRequest& request,
                                                     Caller* caller, ApiQuery* query) const;
  // Asks the coordinator on an API client thread; the JSON the call's `ask` makes
  // of the reply is the answer, an error its status.
  void submit(ApiCall call, serving::http::Responder respond);

  const RouteTable& table_;  // tokens' namespaces
  LoginSessions& sessions_;  // browser sessions (shared with the notebook proxy)
  ApiClient& client_;
  IngressMetrics& metrics_;  // services' traffic, answered here without the coordinator
};

// {name, intervalSeconds, points: [{timeMs, requests, errors, requestsPerSecond,
// errorsPerSecond, latencyMs: {p50, p90, p99} or null, inFlight, held}]}, oldest first.
nlohmann::json traffic_json(const std::string& service, const std::vector<TrafficSample>& samples,
                            std::chrono::milliseconds interval);

}  // namespace cadre::ingress

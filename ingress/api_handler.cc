#include "ingress/api_handler.h"

#include "ingress/notebook_request.h"
#include "protocol/user_tokens.h"

namespace cadre::ingress {
namespace {

using serving::http::HttpRequest;
using serving::http::HttpResponse;
using serving::http::Responder;

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  // Strings are whatever users and their programs wrote (log lines, metric names):
  // invalid UTF-8 becomes U+FFFD instead of an exception.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse error_response(int status, const std::string& message) {
  auto r = json_response(status, {{"error", message}});
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

int http_status(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kFailedPrecondition:
      return 409;
    default:
      return 500;
  }
}

// Compares in time that does not depend on where the first difference is.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

nlohmann::json traffic_json(const std::string& service, const std::vector<TrafficSample>& samples,
                            std::chrono::milliseconds interval) {
  const double seconds = static_cast<double>(interval.count()) / 1000;
  nlohmann::json points = nlohmann::json::array();
  for (const auto& s : samples) {
    nlohmann::json latency = nullptr;
    if (s.p50_ms) latency = {{"p50", *s.p50_ms}, {"p90", *s.p90_ms}, {"p99", *s.p99_ms}};
    points.push_back({{"timeMs", s.end_ms},
                      {"requests", s.requests},
                      {"errors", s.errors},
                      {"requestsPerSecond", static_cast<double>(s.requests) / seconds},
                      {"errorsPerSecond", static_cast<double>(s.errors) / seconds},
                      {"latencyMs", std::move(latency)},
                      {"inFlight", s.in_flight},
                      {"held", s.held}});
  }
  return {{"name", service}, {"intervalSeconds", seconds}, {"points", std::move(points)}};
}

bool ApiHandler::handles(std::string_view path) { return path.rfind("/api/", 0) == 0; }

Result<ApiHandler::Caller> ApiHandler::authenticate(const HttpRequest& request) const {
  static constexpr std::string_view kBearer = "Bearer ";
  if (!request.authorization.empty()) {
    if (request.authorization.compare(0, kBearer.size(), kBearer) != 0) {
      return PermissionDenied("Authorization must be 'Bearer <Cadre token>'");
    }
    const std::string token = request.authorization.substr(kBearer.size());
    auto ns = table_.token_namespace(token);
    if (!ns) return PermissionDenied("the bearer token is not a Cadre token");
    return Caller{*ns, protocol::token_id(protocol::token_sha256(token)), false, ""};
  }
  const std::string session = cookie_value(request.cookie, kSessionCookie);
  if (!session.empty()) {
    if (auto ns = sessions_.ns_of(session)) return Caller{*ns, "session", true, session};
    return PermissionDenied("the session has ended: log in again at /login");
  }
  return PermissionDenied(
      "the API needs a Cadre token (Authorization: Bearer <token>; cadre tokens create) or a "
      "session from /login");
}

std::optional<HttpResponse> ApiHandler::refusal(const HttpRequest& request, Caller* caller,
                                                ApiQuery* query) const {
  auto who = authenticate(request);
  if (!who.ok()) return error_response(401, who.status().message());
  auto q = parse_api_call(request.method, request.target);
  if (!q.ok() && q.status().code() == StatusCode::kFailedPrecondition) {
    auto r = error_response(405, q.status().message());
    r.headers.emplace_back("Allow", "GET, DELETE, POST");
    return r;
  }
  if (!q.ok()) return error_response(http_status(q.status().code()), q.status().message());
  if (is_change(*q)) {
    // A change: only from this ingress's own pages, or from a program (which sends
    // no Origin and authenticates with a token, never a cookie).
    const Status origin =
        check_origin(request.origin, request.host, request.fetch_site, who->by_cookie);
    if (!origin.ok()) return error_response(403, origin.message());
    if (who->by_cookie && !same_secret(request.csrf_token, csrf_token(who->session))) {
      return error_response(403,
                            "a change with a browser session needs its CSRF token in "
                            "X-Cadre-CSRF (GET /api/v1/session gives it)");
    }
  }
  if (!q->ns.empty() && q->ns != who->ns) {
    return error_response(
        403, "your credentials are for namespace '" + who->ns + "', not '" + q->ns + "'");
  }
  if (caller != nullptr) *caller = *who;
  if (query != nullptr) *query = std::move(*q);
  return std::nullopt;
}

std::optional<HttpResponse> ApiHandler::check_headers(const HttpRequest& head) const {
  return refusal(head, nullptr, nullptr);
}

std::optional<HttpResponse> ApiHandler::check_read(const HttpRequest& request,
                                                   std::string* ns) const {
  Caller caller;
  if (auto refused = refusal(request, &caller, nullptr)) return refused;
  *ns = caller.ns;
  return std::nullopt;
}

void ApiHandler::submit(ApiCall call, Responder respond) {
  const Status queued = client_.submit([call = std::move(call),
                                        respond](client::CoordinatorClient& c) {
    auto json = call.ask(c, call.request);
    if (!json.ok()) {
      return respond(error_response(http_status(json.status().code()), json.status().message()));
    }
    respond(json_response(200, *json));
  });
  if (!queued.ok()) respond(error_response(503, queued.message()));
}

void ApiHandler::handle(HttpRequest request, Responder respond) {
  Caller caller;
  ApiQuery query;
  // Checked again: a session or token may have ended while the body was read.
  if (auto refused = refusal(request, &caller, &query)) return respond(std::move(*refused));
  if (query.kind == "session") {
    nlohmann::json who = {{"namespace", caller.ns},
                          {"user", caller.user},
                          {"via", caller.by_cookie ? "session" : "token"}};
    if (caller.by_cookie) who["csrfToken"] = csrf_token(caller.session);
    return respond(json_response(200, who));
  }
  if (query.verb == "traffic") {
    // What this ingress saw; another namespace's service is as absent as a missing one.
    if (table_.service_namespace(query.name) != caller.ns) {
      return respond(error_response(
          404, "no inferenceservice '" + query.name + "' in namespace '" + caller.ns + "'"));
    }
    return respond(json_response(
        200, traffic_json(query.name, metrics_.traffic(query.name), metrics_.traffic_interval())));
  }
  ApiCall call = api_call(query, std::move(request.body));
  call.request.ns = caller.ns;
  call.request.user = caller.user;
  submit(std::move(call), std::move(respond));
}

}  // namespace cadre::ingress

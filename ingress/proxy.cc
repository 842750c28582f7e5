#include "ingress/proxy.h"

#include <nlohmann/json.hpp>

#include "ingress/login_sessions.h"
#include "ingress/notebook_request.h"

namespace cadre::ingress {
namespace {

using serving::http::HttpRequest;
using serving::http::HttpResponse;
using serving::http::Responder;
using Clock = std::chrono::steady_clock;

HttpResponse error_response(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump();
  return r;
}

// "/v2/models/fmnist/infer?x" -> "fmnist"; "" when the path is not a model's.
std::string model_of(const std::string& path) {
  static const std::string kPrefix = "/v2/models/";
  if (path.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  const auto end = path.find('/', kPrefix.size());
  return path.substr(kPrefix.size(),
                     end == std::string::npos ? std::string::npos : end - kPrefix.size());
}

}  // namespace

struct Proxy::Call {
  HttpRequest request;
  Responder respond;
  std::string service;
  std::set<std::string> tried;  // replicas it could not reach
  int attempts = 0;
  Clock::time_point start = Clock::now();
};

// Why a request to `path` with these headers is refused; nullopt: it may go on.
std::optional<HttpResponse> Proxy::refusal(const std::string& path, const HttpRequest& head) const {
  const std::string service = model_of(path);
  if (service.empty()) {
    return error_response(
        404,
        "not found: the ingress serves the dashboard (/ui/), /v2/models/<name>/..., "
        "/notebook/<namespace>/<name>/ and /api/v1/");
  }
  // Unknown names are answered before anything is counted under them: metrics
  // label only services that exist, so random names cannot grow them.
  if (!table_.has_service(service)) {
    return error_response(404,
                          "no inferenceservice '" + service + "' (cadre get inferenceservices)");
  }
  // The dashboard's "try it" calls with the browser's session instead of a token;
  // its CSRF token proves the call comes from the dashboard's own page.
  const std::string session = cookie_value(head.cookie, kSessionCookie);
  std::optional<RouteTable::Auth> by_session;
  if (head.authorization.empty() && !session.empty() && sessions_ != nullptr) {
    auto ns = sessions_->ns_of(session);
    if (!ns) return error_response(401, "the session has ended: log in again at /login");
    if (head.csrf_token != csrf_token(session)) {
      return error_response(403,
                            "a call with a browser session needs its CSRF token in "
                            "X-Cadre-CSRF (GET /api/v1/session gives it)");
    }
    by_session = table_.authorize_namespace(service, *ns);
  }
  switch (by_session ? *by_session : table_.authorize(service, head.authorization)) {
    case RouteTable::Auth::kOk:
      return std::nullopt;
    case RouteTable::Auth::kMissing:
      return error_response(401, "inferenceservice '" + service +
                                     "' needs a token: Authorization: Bearer <token> (cadre "
                                     "tokens create)");
    case RouteTable::Auth::kWrong:
      return error_response(401, "the bearer token is not a Cadre token");
    case RouteTable::Auth::kOtherNamespace:
      return error_response(
          403, "the token is for another namespace than inferenceservice '" + service + "'");
  }
  return std::nullopt;
}

std::optional<HttpResponse> Proxy::check_headers(const HttpRequest& head) const {
  const std::string path = head.target.substr(0, head.target.find('?'));
  if (path == "/v2/health/live" || path == "/v2/health/ready" || path == "/metrics") {
    return std::nullopt;
  }
  return refusal(path, head);
}

double Proxy::uniform() {
  std::lock_guard<std::mutex> lock(random_mutex_);
  return std::uniform_real_distribution<double>(0, 1)(random_);
}

void Proxy::handle(HttpRequest request, Responder respond) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/v2/health/live") return respond(HttpResponse{200, "application/json", {}, "{}"});
  if (path == "/v2/health/ready") {
    // Ready once it has a table to route by (kept while the coordinator is away).
    return respond(table_.has_table() ? HttpResponse{200, "application/json", {}, "{}"}
                                      : error_response(503, "no routes from the coordinator yet"));
  }
  if (path == "/metrics") {
    return respond(HttpResponse{200, "text/plain; version=0.0.4", {}, metrics_.render()});
  }
  // Checked again here (the server checked when the headers came): the route
  // table may have changed while the body was read.
  if (auto refused = refusal(path, request)) return respond(std::move(*refused));
  const std::string service = model_of(path);
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->respond = std::move(respond);
  call->service = service;
  metrics_.started(service);
  dispatch(std::move(call));
}

void Proxy::finish(const std::shared_ptr<Call>& call, HttpResponse response,
                   const std::string& revision) {
  metrics_.finished(
      call->service, revision, response.status,
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->start));
  call->respond(std::move(response));
}

void Proxy::dispatch(std::shared_ptr<Call> call) {
  if (auto waiting = try_send(call)) hold(std::move(call), *waiting);
}

std::optional<Pick> Proxy::try_send(const std::shared_ptr<Call>& call) {
  auto pick = table_.pick(call->service, uniform(), uniform(), call->tried);
  if (!pick.ok()) {
    const bool missing = pick.status().code() == StatusCode::kNotFound;
    finish(
        call,
        error_response(missing ? 404 : 503,
                       pick.status().message() + (missing ? " (cadre get inferenceservices)" : "")),
        "");
    return std::nullopt;
  }
  if (pick->wait != PickWait::kNone) return *pick;  // took no slot
  send(call, *pick);
  return std::nullopt;
}

void Proxy::hold(std::shared_ptr<Call> call, const Pick& pick) {
  // Load while held: the autoscaler sees it and starts (or adds) replicas.
  const std::string revision = pick.revision;
  load_.started(call->service, revision, Clock::now());
  const bool cold = pick.wait == PickWait::kColdStart;
  metrics_.held(call->service, cold);
  Activator::Held held;
  held.service = call->service;
  held.deadline = call->start + pick.timeout;
  held.try_send = [this, call, revision, cold] {
    if (try_send(call)) return false;
    load_.finished(call->service, revision, Clock::now());
    metrics_.released(call->service, cold);
    return true;
  };
  held.expire = [this, call, revision, cold, pick] {
    load_.finished(call->service, revision, Clock::now());
    metrics_.released(call->service, cold);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(pick.timeout).count();
    finish(call,
           error_response(
               503, cold ? "no replica of inferenceservice '" + call->service +
                               "' was ready within its timeout of " + std::to_string(seconds) +
                               " s (it was at zero replicas: cadre describe isvc " + call->service +
                               ")"
                         : "every replica of inferenceservice '" + call->service +
                               "' stayed at its containerConcurrency of " +
                               std::to_string(pick.container_concurrency) +
                               " for the request's timeout of " + std::to_string(seconds) + " s"),
           revision);
  };
  const Status held_status = activator_.hold(std::move(held));
  if (!held_status.ok()) {
    load_.finished(call->service, revision, Clock::now());
    metrics_.released(call->service, cold);
    finish(call, error_response(503, held_status.message()), revision);
  }
}

void Proxy::send(std::shared_ptr<Call> call, const Pick& pick) {
  UpstreamRequest up;
  up.address = pick.address;
  up.port = pick.port;
  up.method = call->request.method;
  up.target = call->request.target;
  up.body = call->request.body;  // kept: a request that reached no replica is sent again
  up.content_type = call->request.content_type;
  up.inference_header = call->request.inference_header_content_length;
  up.authorization = "Bearer " + pick.token;
  // The service's timeout bounds the whole request, time held included.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      call->start + pick.timeout - Clock::now());
  up.timeout = std::max(left, std::chrono::milliseconds(1));
  auto load = pick.load;  // the slot pick() took
  const std::string key = pick.key();
  const std::string revision = pick.revision;
  load_.started(call->service, revision, Clock::now());
  upstream_.send(std::move(up), [this, call, load, key, revision](UpstreamResult r) {
    load->in_flight.fetch_sub(1, std::memory_order_relaxed);
    load_.finished(call->service, revision, Clock::now());
    activator_.wake();  // a slot is free
    if (!r.status.ok()) {
      if (!r.reached && call->attempts < options_.max_retries) {
        call->attempts++;
        call->tried.insert(key);
        return dispatch(call);
      }
      const bool late = r.status.code() == StatusCode::kDeadlineExceeded;
      return finish(call, error_response(late ? 504 : 502, r.status.message()), revision);
    }
    HttpResponse response;
    response.status = r.response.status;
    response.content_type =
        r.response.content_type.empty() ? "application/json" : r.response.content_type;
    if (!r.response.inference_header.empty()) {
      response.headers.emplace_back("Inference-Header-Content-Length", r.response.inference_header);
    }
    response.body = std::move(r.response.body);
    finish(call, std::move(response), revision);
  });
}

}  // namespace cadre::ingress

#include "ingress/api_handler.h"

#include "client/experiment_output.h"
#include "client/json_output.h"
#include "client/lineage.h"
#include "client/notebook_output.h"
#include "client/pipeline_output.h"
#include "client/recurring_run_output.h"
#include "client/service_output.h"
#include "ingress/notebook_request.h"
#include "protocol/spec/notebook_spec.h"
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

// Every item of a list, in the CLI's JSON shape.
template <typename T, typename Render>
nlohmann::json each(const std::vector<T>& items, Render render) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back(render(item));
  return out;
}

}  // namespace

Result<nlohmann::json> api_json(const ApiQuery& q, const protocol::GetReply& reply) {
  nlohmann::json items;
  const bool one = !q.name.empty();
  if (q.kind == "nodes") {
    items = each(reply.nodes, [](const auto& n) { return client::node_to_json(n); });
  } else if (q.kind == "jobs" || q.kind == "trainjobs") {
    items = each(reply.jobs, [one](const auto& j) { return client::job_to_json(j, one); });
  } else if (q.kind == "experiments") {
    items = each(reply.experiments,
                 [one](const auto& e) { return client::experiment_to_json(e, one); });
  } else if (q.kind == "inferenceservices") {
    items = each(reply.services, [one](const auto& s) { return client::service_to_json(s, one); });
  } else if (q.kind == "pipelines") {
    items =
        each(reply.pipelines, [one](const auto& p) { return client::pipeline_to_json(p, one); });
  } else if (q.kind == "runs") {
    items = each(reply.runs, [one](const auto& r) { return client::run_to_json(r, one); });
  } else if (q.kind == "recurringruns") {
    items =
        each(reply.recurring_runs, [](const auto& r) { return client::recurring_run_to_json(r); });
  } else if (q.kind == "notebooks") {
    items = each(reply.notebooks, [](const auto& n) { return client::notebook_to_json(n); });
  } else {
    return InvalidArgument("no API kind '" + q.kind + "'");
  }
  if (!one) return api_page(std::move(items), q);
  for (auto& item : items) {
    if (item.value("name", "") == q.name) return std::move(item);
  }
  const std::string singular = q.kind.substr(0, q.kind.size() - 1);
  return NotFound(singular + " '" + q.name + "' not found");
}

nlohmann::json logs_json(const protocol::LogsReply& reply) {
  return {{"data", reply.data},
          {"offset", reply.offset},
          {"nextOffset", reply.next_offset},
          {"finished", reply.finished}};
}

nlohmann::json metrics_json(const protocol::MetricsHistoryReply& reply) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : reply.points) {
    points.push_back({{"replica", p.replica},
                      {"name", p.name},
                      {"value", p.value},
                      {"step", p.step},
                      {"timeMs", p.time_ms}});
  }
  return {{"name", reply.name}, {"points", std::move(points)}, {"truncated", reply.truncated}};
}

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

void ApiHandler::submit(protocol::ApiRequest call, Ask ask, Responder respond) {
  const Status queued = client_.submit([call = std::move(call), ask,
                                        respond](client::CoordinatorClient& c) {
    auto json = ask(c, call);
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
  protocol::ApiRequest call;
  call.ns = caller.ns;
  call.user = caller.user;
  call.verb = query.verb;
  if (query.verb == "delete") {
    call.remove.resource = query.kind;
    call.remove.name = query.name;
    call.remove.purge = query.purge;
    return submit(
        std::move(call),
        [](client::CoordinatorClient& c, const protocol::ApiRequest& r) -> Result<nlohmann::json> {
          ASSIGN_OR_RETURN(auto reply, c.api_delete(r));
          return nlohmann::json{{"name", reply.name}, {"deleted", true}};
        },
        std::move(respond));
  }
  if (query.verb == "apply") {
    call.apply.manifest = std::move(request.body);
    return submit(
        std::move(call),
        [](client::CoordinatorClient& c, const protocol::ApiRequest& r) -> Result<nlohmann::json> {
          ASSIGN_OR_RETURN(auto reply, c.api_apply(r));
          return nlohmann::json{
              {"kind", reply.kind}, {"name", reply.name}, {"action", reply.action}};
        },
        std::move(respond));
  }
  if (query.verb == "stop" || query.verb == "start") {
    // As `cadre notebook stop|start`: the notebook's own manifest again, with
    // spec.stopped set, applied as the caller.
    call.verb = "get";
    call.get.resource = "notebooks";
    call.get.name = query.name;
    return submit(
        std::move(call),
        [stop = query.verb == "stop"](client::CoordinatorClient& c,
                                      const protocol::ApiRequest& r) -> Result<nlohmann::json> {
          ASSIGN_OR_RETURN(auto reply, c.api_get(r));
          if (reply.notebooks.empty()) return NotFound("notebook '" + r.get.name + "' not found");
          ASSIGN_OR_RETURN(std::string manifest,
                           spec::notebook_manifest_with_stopped(reply.notebooks[0].manifest, stop));
          protocol::ApiRequest apply = r;
          apply.verb = "apply";
          apply.apply.manifest = std::move(manifest);
          ASSIGN_OR_RETURN(auto applied, c.api_apply(apply));
          const bool changed = applied.action != "unchanged";
          return nlohmann::json{
              {"name", applied.name},
              {"action", changed ? (stop ? "stopping" : "starting")
                                 : (stop ? "already stopped" : "already started")}};
        },
        std::move(respond));
  }
  if (query.verb == "logs") {
    call.logs.resource = query.kind;
    call.logs.name = query.name;
    call.logs.replica = query.replica;
    call.logs.offset = query.offset;
    call.logs.max_bytes = query.max_bytes;
    return submit(
        std::move(call),
        [](client::CoordinatorClient& c, const protocol::ApiRequest& r) -> Result<nlohmann::json> {
          ASSIGN_OR_RETURN(auto reply, c.api_logs(r));
          return logs_json(reply);
        },
        std::move(respond));
  }
  if (query.verb == "lineage") {
    // Walked over the caller's runs as `cadre lineage` does: the list, then each
    // run's record (its steps' artifacts), on one API connection.
    call.verb = "get";
    call.get.resource = "runs";
    return submit(
        std::move(call),
        [query](client::CoordinatorClient& c,
                const protocol::ApiRequest& r) -> Result<nlohmann::json> {
          ASSIGN_OR_RETURN(auto list, c.api_get(r));
          if (list.runs.size() > kApiMaxLineageRuns) {
            return FailedPrecondition("lineage walks at most " +
                                      std::to_string(kApiMaxLineageRuns) + " runs; namespace '" +
                                      r.ns + "' has " + std::to_string(list.runs.size()) +
                                      " (cadre delete run/NAME the old ones)");
          }
          std::vector<protocol::PipelineRunStatus> runs;
          for (const auto& summary : list.runs) {
            protocol::ApiRequest one = r;
            one.get.name = summary.name;
            auto got = c.api_get(one);
            if (!got.ok() && got.status().code() == StatusCode::kNotFound) continue;  // deleted
            if (!got.ok()) return got.status();
            for (auto& run : got->runs) runs.push_back(std::move(run));
          }
          client::LineageOptions options;
          options.downstream = query.downstream;
          options.depth = query.depth;
          return client::lineage_json(runs, query.artifact, options);
        },
        std::move(respond));
  }
  if (query.verb == "metrics") {
    call.metrics.resource = query.kind;
    call.metrics.name = query.name;
    call.metrics.metric = query.metric;
    call.metrics.max_points = query.max_points;
    return submit(
        std::move(call),
        [](client::CoordinatorClient& c, const protocol::ApiRequest& r) -> Result<nlohmann::json> {
          ASSIGN_OR_RETURN(auto reply, c.api_metrics(r));
          return metrics_json(reply);
        },
        std::move(respond));
  }
  call.get.resource = query.kind;
  call.get.name = query.name;
  if (query.name.empty() && (query.kind == "jobs" || query.kind == "trainjobs")) {
    // The coordinator pages jobs itself (there may be tens of thousands); one more
    // than the page says whether another follows.
    call.get.limit = static_cast<int32_t>(query.limit + 1);
    call.get.after = query.after;
    call.get.prefix = query.prefix;
    call.get.phase = query.phase.value_or("");
    call.get.by_owner = query.owner.has_value();
    call.get.owner = query.owner.value_or("");
  }
  submit(
      std::move(call),
      [query](client::CoordinatorClient& c,
              const protocol::ApiRequest& r) -> Result<nlohmann::json> {
        ASSIGN_OR_RETURN(auto reply, c.api_get(r));
        return api_json(query, reply);
      },
      std::move(respond));
}

}  // namespace cadre::ingress

#include "serving/http/v2_http_routes.h"

#include <charconv>

#include <google/protobuf/util/json_util.h>

#include "serving/http/v2_metadata_json.h"
#include "serving/metrics.h"

namespace cadre::serving::http {
namespace {

using json = nlohmann::json;

HttpResponse json_response(int status, std::string body) {
  return HttpResponse{status, "application/json", {}, std::move(body)};
}

HttpResponse error_response(const Status& s) {
  return json_response(http_status(s), error_json(s.message()));
}

std::vector<std::string> split_path(const std::string& target) {
  std::vector<std::string> parts;
  const std::string path = target.substr(0, target.find('?'));
  size_t at = 0;
  while (at <= path.size()) {
    const size_t next = path.find('/', at);
    const std::string part = path.substr(at, next == std::string::npos ? next : next - at);
    if (!part.empty()) parts.push_back(part);
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return parts;
}

Result<int64_t> parse_version(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    return InvalidArgument("version '" + text.substr(0, 32) + "' is not a positive integer");
  return v;
}

class V2Routes {
 public:
  V2Routes(InferenceServer* server, V2RoutesOptions options)
      : server_(server), options_(std::move(options)) {}

  void operator()(HttpRequest req, const Responder& respond) {
    const auto parts = split_path(req.target);
    const bool get = req.method == "GET";
    if (parts.empty() || parts[0] != "v2") return respond(not_found());
    // /v2
    if (parts.size() == 1) {
      if (!get) return respond(method_not_allowed());
      return respond(json_response(200, server_metadata_json(options_.server_version).dump()));
    }
    if (parts[1] == "health" && parts.size() == 3) {
      if (!get) return respond(method_not_allowed());
      if (parts[2] == "live") return respond(json_response(server_->live() ? 200 : 503, ""));
      if (parts[2] == "ready") return respond(json_response(server_->ready() ? 200 : 503, ""));
      return respond(not_found());
    }
    if (parts[1] == "repository") return repository(req, parts, respond);
    if (parts[1] != "models") return respond(not_found());
    // /v2/models/stats
    if (parts.size() == 3 && parts[2] == "stats") {
      if (!get) return respond(method_not_allowed());
      return respond(stats("", 0));
    }
    if (parts.size() < 3) return respond(not_found());
    return model_route(std::move(req), parts, respond);
  }

 private:
  // /v2/models/{m}[/versions/{v}][/ready|/stats|/config|/infer]
  void model_route(HttpRequest req, const std::vector<std::string>& parts,
                   const Responder& respond) {
    const bool get = req.method == "GET";
    const std::string& model = parts[2];
    size_t rest = 3;
    int64_t version = 0;
    if (parts.size() >= 5 && parts[3] == "versions") {
      auto v = parse_version(parts[4]);
      if (!v.ok()) return respond(error_response(v.status()));
      version = *v;
      rest = 5;
    }
    if (parts.size() == rest) {
      if (!get) return respond(method_not_allowed());
      auto md = server_->model_metadata(model, version);
      if (!md.ok()) return respond(error_response(md.status()));
      return respond(json_response(200, model_metadata_json(*md).dump()));
    }
    if (parts.size() != rest + 1) return respond(not_found());
    const std::string& action = parts[rest];
    if (action == "infer") {
      if (req.method != "POST") return respond(method_not_allowed());
      return infer(std::move(req), model, version, respond);
    }
    if (action != "ready" && action != "stats" && action != "config") return respond(not_found());
    if (!get) return respond(method_not_allowed());
    if (action == "ready") {
      auto ready = server_->model_ready(model, version);
      if (!ready.ok()) return respond(error_response(ready.status()));
      return respond(json_response(*ready ? 200 : 503, ""));
    }
    if (action == "stats") return respond(stats(model, version));
    if (action == "config") {
      auto config = server_->model_config(model, version);
      if (!config.ok()) return respond(error_response(config.status()));
      std::string text;
      google::protobuf::util::JsonPrintOptions o;
      o.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(*config, &text, o);
      return respond(json_response(200, text));
    }
    return respond(not_found());
  }

  static HttpResponse not_found() { return json_response(404, error_json("Not Found")); }
  static HttpResponse method_not_allowed() {
    return json_response(405, error_json("Method Not Allowed"));
  }

  HttpResponse stats(const std::string& model, int64_t version) {
    auto s = server_->statistics(model, version);
    if (!s.ok()) return error_response(s.status());
    return json_response(200, statistics_json(*s).dump());
  }

  void repository(const HttpRequest& req, const std::vector<std::string>& parts,
                  const Responder& respond) {
    if (req.method != "POST") return respond(method_not_allowed());
    if (parts.size() == 3 && parts[2] == "index") {
      bool ready_only = false;
      if (!req.body.empty()) {
        const json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object())
          return respond(json_response(400, error_json("index request body must be a JSON "
                                                       "object")));
        if (body.contains("ready") && body["ready"].is_boolean()) ready_only = body["ready"];
      }
      return respond(
          json_response(200, repository_index_json(server_->repository_index(ready_only)).dump()));
    }
    if (parts.size() == 5 && parts[2] == "models" && (parts[4] == "load" || parts[4] == "unload")) {
      // The body may carry parameters (Triton's config override); Cadre loads from
      // the repository only and says so rather than ignoring them.
      if (!req.body.empty()) {
        const json body = json::parse(req.body, nullptr, false, /*ignore_comments=*/false);
        if (body.is_discarded() || !body.is_object())
          return respond(json_response(400, error_json("request body must be a JSON object")));
        if (body.contains("parameters") && !body["parameters"].empty())
          return respond(json_response(
              400, error_json("load parameters (config and file overrides) are not supported; "
                              "change the model repository instead")));
      }
      auto done = [respond](Status s) {
        respond(s.ok() ? json_response(200, "") : error_response(s));
      };
      if (parts[4] == "load") return server_->load_model(parts[3], done);
      return server_->unload_model(parts[3], done);
    }
    return respond(not_found());
  }

  void infer(HttpRequest req, const std::string& model, int64_t version, const Responder& respond) {
    std::string_view body = req.body;
    std::string_view json_part = body, binary_part;
    if (!req.inference_header_content_length.empty()) {
      uint64_t n = 0;
      const auto& h = req.inference_header_content_length;
      auto [end, ec] = std::from_chars(h.data(), h.data() + h.size(), n);
      if (ec != std::errc() || end != h.data() + h.size())
        return respond(
            json_response(400, error_json("Inference-Header-Content-Length: '" + h.substr(0, 32) +
                                          "' is not a non-negative integer")));
      if (n > body.size())
        return respond(json_response(
            400,
            error_json("Inference-Header-Content-Length " + std::to_string(n) +
                       " is larger than the body (" + std::to_string(body.size()) + " bytes)")));
      json_part = body.substr(0, n);
      binary_part = body.substr(n);
    }
    auto decoded = decode_infer_request(json_part, binary_part, options_.limits);
    if (!decoded.ok()) return respond(error_response(decoded.status()));
    auto request = std::make_shared<InferRequest>(std::move(decoded).value());
    request->model = model;
    request->version = version;
    // Copy what encoding needs before the request moves into the server: the
    // request object is shared, so keep a reference for the callback.
    server_->infer(request, [request, respond](Result<InferResponse> r) {
      if (!r.ok()) return respond(error_response(r.status()));
      EncodedResponse e = encode_infer_response(*r, *request);
      if (e.binary.empty()) return respond(json_response(200, std::move(e.json)));
      HttpResponse out{200, "application/octet-stream", {}, {}};
      out.headers.emplace_back("Inference-Header-Content-Length", std::to_string(e.json.size()));
      out.body = std::move(e.json);
      out.body += e.binary;
      respond(std::move(out));
    });
  }

  InferenceServer* server_;
  V2RoutesOptions options_;
};

}  // namespace

int http_status(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kDataLoss:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return 503;
    case StatusCode::kFailedPrecondition:
      return 400;
    case StatusCode::kPermissionDenied:
      return 403;
    default:
      return 500;
  }
}

HttpHandler make_v2_handler(InferenceServer* server, const V2RoutesOptions& options) {
  auto routes = std::make_shared<V2Routes>(server, options);
  return [routes](HttpRequest req, Responder respond) { (*routes)(std::move(req), respond); };
}

HttpHandler make_metrics_handler(InferenceServer* server) {
  return [server](HttpRequest req, Responder respond) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    if (path != "/metrics") return respond(json_response(404, error_json("Not Found")));
    if (req.method != "GET") return respond(json_response(405, error_json("Method Not Allowed")));
    respond(HttpResponse{200, "text/plain; version=0.0.4", {}, render_metrics(*server)});
  };
}

}  // namespace cadre::serving::http

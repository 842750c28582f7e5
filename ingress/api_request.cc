#include "ingress/api_request.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "ingress/notebook_request.h"

namespace cadre::ingress {
namespace {

constexpr size_t kMaxTarget = 8 * 1024;
constexpr std::array<std::string_view, 8> kKinds = {
    "jobs",      "trainjobs", "experiments",   "inferenceservices",
    "pipelines", "runs",      "recurringruns", "notebooks"};
constexpr std::array<std::string_view, 6> kParameters = {"limit", "continue", "prefix",
                                                         "phase", "owner",    "labelSelector"};
constexpr std::array<std::string_view, 3> kLogParameters = {"replica", "offset", "maxBytes"};
constexpr std::array<std::string_view, 2> kMetricParameters = {"metric", "maxPoints"};
constexpr std::array<std::string_view, 3> kLineageParameters = {"artifact", "direction", "depth"};

std::vector<std::string_view> split(std::string_view text, char by) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find(by, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? text.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

// A short, printable echo of what was sent (errors never return a megabyte).
std::string echo_of(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 64)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (text.size() > 64) out += "...";
  return out + "'";
}

Status check_name(std::string_view what, std::string_view name) {
  if (is_api_name(name)) return Status::Ok();
  return InvalidArgument(std::string(what) + " " + echo_of(name) + " is not a Cadre name");
}

// Every parameter of `query` is one of `known` (listed in the error otherwise).
template <size_t N>
Status check_parameters(std::string_view query, const std::array<std::string_view, N>& known) {
  for (std::string_view pair : split(query, '&')) {
    if (pair.empty()) continue;
    const std::string_view key = pair.substr(0, pair.find('='));
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string names;
      for (auto k : known) names += (names.empty() ? "" : ", ") + std::string(k);
      return InvalidArgument("unknown query parameter " + echo_of(key) + " (" + names + ")");
    }
  }
  return Status::Ok();
}

// A decimal integer in [low, high]; the error names the parameter and the range.
Result<int64_t> bounded_integer(std::string_view name, const std::string& text, int64_t low,
                                int64_t high) {
  const size_t sign = !text.empty() && text[0] == '-' ? 1 : 0;
  const bool digits = text.size() > sign && text.size() <= 12 + sign &&
                      std::all_of(text.begin() + sign, text.end(), ::isdigit);
  const int64_t n = digits ? std::stoll(text) : 0;
  if (!digits || n < low || n > high) {
    return InvalidArgument(std::string(name) + " " + echo_of(text) + " must be " +
                           std::to_string(low) + ".." + std::to_string(high));
  }
  return n;
}

Status parse_logs_query(std::string_view query, ApiQuery& q) {
  RETURN_IF_ERROR(check_parameters(query, kLogParameters));
  const std::string target = "?" + std::string(query);
  if (auto replica = query_parameter(target, "replica")) {
    if (!replica->empty()) RETURN_IF_ERROR(check_name("replica", *replica));
    q.replica = *replica;
  }
  if (auto offset = query_parameter(target, "offset")) {
    ASSIGN_OR_RETURN(q.offset,
                     bounded_integer("offset", *offset, -(int64_t{1} << 40), int64_t{1} << 40));
  }
  if (auto max_bytes = query_parameter(target, "maxBytes")) {
    ASSIGN_OR_RETURN(q.max_bytes, bounded_integer("maxBytes", *max_bytes, 1, kApiMaxLogBytes));
  }
  return Status::Ok();
}

Status parse_metrics_query(std::string_view query, ApiQuery& q) {
  RETURN_IF_ERROR(check_parameters(query, kMetricParameters));
  const std::string target = "?" + std::string(query);
  if (auto metric = query_parameter(target, "metric")) {
    const bool printable =
        metric->size() <= 128 && std::all_of(metric->begin(), metric->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                 c == '/' || c == ':';
        });
    if (!printable) {
      return InvalidArgument("metric " + echo_of(*metric) +
                             " is not a metric name (letters, digits, _ - . / :)");
    }
    q.metric = *metric;
  }
  if (auto points = query_parameter(target, "maxPoints")) {
    ASSIGN_OR_RETURN(q.max_points, bounded_integer("maxPoints", *points, 1, kApiMaxMetricPoints));
  }
  return Status::Ok();
}

Status parse_lineage_query(std::string_view query, ApiQuery& q) {
  RETURN_IF_ERROR(check_parameters(query, kLineageParameters));
  const std::string target = "?" + std::string(query);
  const auto artifact = query_parameter(target, "artifact");
  if (!artifact || artifact->empty()) {
    return InvalidArgument("lineage needs artifact=URI (an artifact's uri, as a run shows it)");
  }
  const bool printable = std::all_of(artifact->begin(), artifact->end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  });
  if (artifact->size() > kApiMaxArtifactUri || !printable) {
    return InvalidArgument("artifact " + echo_of(*artifact) + " is not a URI of at most " +
                           std::to_string(kApiMaxArtifactUri) + " printable bytes");
  }
  q.artifact = *artifact;
  if (auto direction = query_parameter(target, "direction")) {
    if (*direction != "upstream" && *direction != "downstream") {
      return InvalidArgument("direction " + echo_of(*direction) +
                             " must be upstream or downstream");
    }
    q.downstream = *direction == "downstream";
  }
  if (auto depth = query_parameter(target, "depth")) {
    ASSIGN_OR_RETURN(const int64_t n, bounded_integer("depth", *depth, 1, kApiMaxLineageDepth));
    q.depth = static_cast<int>(n);
  }
  return Status::Ok();
}

Status parse_query(std::string_view query, ApiQuery& q) {
  if (q.verb == "lineage") return parse_lineage_query(query, q);
  if (query.empty()) return Status::Ok();
  if (q.verb == "logs") return parse_logs_query(query, q);
  if (q.verb == "metrics") return parse_metrics_query(query, q);
  if (q.verb == "traffic") {
    return InvalidArgument("a service's traffic takes no query parameters (got " +
                           echo_of(query.substr(0, query.find('='))) + ")");
  }
  RETURN_IF_ERROR(check_parameters(query, kParameters));
  const std::string target = "?" + std::string(query);
  if (auto limit = query_parameter(target, "limit")) {
    size_t n = 0;
    const bool digits = !limit->empty() && limit->size() <= 4 &&
                        std::all_of(limit->begin(), limit->end(), ::isdigit);
    if (digits) n = std::stoul(*limit);
    if (!digits || n < 1 || n > kApiMaxLimit) {
      return InvalidArgument("limit " + echo_of(*limit) + " must be 1.." +
                             std::to_string(kApiMaxLimit));
    }
    q.limit = n;
  }
  if (auto after = query_parameter(target, "continue")) {
    RETURN_IF_ERROR(check_name("continue", *after));
    q.after = *after;
  }
  if (auto prefix = query_parameter(target, "prefix")) {
    if (!prefix->empty()) RETURN_IF_ERROR(check_name("prefix", *prefix));
    q.prefix = *prefix;
  }
  if (auto phase = query_parameter(target, "phase")) {
    if (phase->size() > 32 || !std::all_of(phase->begin(), phase->end(), ::isalpha)) {
      return InvalidArgument("phase " + echo_of(*phase) +
                             " is not a phase (Running, Succeeded...)");
    }
    q.phase = *phase;
  }
  if (auto owner = query_parameter(target, "owner")) {
    if (owner->size() > 300) return InvalidArgument("owner is longer than 300 bytes");
    q.owner = *owner;
  }
  if (auto selector = query_parameter(target, "labelSelector")) {
    for (std::string_view term : split(*selector, ',')) {
      const size_t eq = term.find('=');
      const std::string_view key = term.substr(0, eq),
                             value = eq == term.npos ? "" : term.substr(eq + 1);
      if (eq == term.npos || key.empty() || key.size() > 63 || value.size() > 63 ||
          q.labels.size() >= 16) {
        return InvalidArgument("labelSelector term " + echo_of(term) +
                               " is not key=value (at most 16 terms)");
      }
      q.labels.emplace_back(key, value);
    }
  }
  return Status::Ok();
}

std::string text_of(const nlohmann::json& item, const char* key) {
  auto it = item.find(key);
  return it != item.end() && it->is_string() ? it->get<std::string>() : "";
}

bool passes(const nlohmann::json& item, const ApiQuery& q) {
  const std::string name = text_of(item, "name");
  if (name.compare(0, q.prefix.size(), q.prefix) != 0) return false;
  if (q.phase && text_of(item, "phase") != *q.phase && text_of(item, "state") != *q.phase) {
    return false;
  }
  if (q.owner && text_of(item, "owner") != *q.owner) return false;
  if (!q.labels.empty()) {
    auto labels = item.find("labels");
    if (labels == item.end() || !labels->is_object()) return false;
    for (const auto& [key, value] : q.labels) {
      auto it = labels->find(key);
      if (it == labels->end() || !it->is_string() || it->get<std::string>() != value) return false;
    }
  }
  return true;
}

}  // namespace

bool is_change(const ApiQuery& query) {
  return query.verb == "apply" || query.verb == "delete" || query.verb == "stop" ||
         query.verb == "start" || query.verb == "suspend" || query.verb == "resume";
}

bool is_api_name(std::string_view name) {
  // Starting with a letter or digit: never "." or "..".
  if (name.empty() || name.size() > 253 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

namespace {

// The call a path names, before its query is read.
Result<ApiQuery> parse_api_path(std::string_view path) {
  if (path.compare(0, kApiPrefix.size(), kApiPrefix) != 0) {
    return NotFound("the API is under /api/v1/");
  }
  path.remove_prefix(kApiPrefix.size());
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  auto parts = split(path, '/');
  ApiQuery q;
  if (parts.size() >= 2 && parts[0] == "namespaces") {
    RETURN_IF_ERROR(check_name("namespace", parts[1]));
    q.ns = std::string(parts[1]);
    parts.erase(parts.begin(), parts.begin() + 2);
    if (parts.empty() || parts[0] == "nodes" || parts[0] == "queues" || parts[0] == "session") {
      return NotFound("/api/v1/namespaces/" + q.ns + "/ is followed by a kind (jobs, runs, ...)");
    }
  }
  // A job's logs or metric history: .../jobs/NAME/logs, .../trainjobs/NAME/metrics.
  if (parts.size() == 3 && (parts[0] == "jobs" || parts[0] == "trainjobs") &&
      (parts[2] == "logs" || parts[2] == "metrics")) {
    q.verb = std::string(parts[2]);
    parts.pop_back();
  }
  // A service's traffic as the ingress saw it: .../inferenceservices/NAME/traffic.
  if (parts.size() == 3 && parts[0] == "inferenceservices" && parts[2] == "traffic") {
    q.verb = "traffic";
    parts.pop_back();
  }
  // Where an artifact came from or went: .../lineage?artifact=URI.
  if (parts.size() == 1 && parts[0] == "lineage") {
    q.verb = "lineage";
    q.kind = "runs";  // walked over the caller's runs
    return q;
  }
  if (parts.empty() || parts.size() > 2 || parts[0].empty()) {
    return NotFound("no such API path: " + echo_of(path));
  }
  const std::string_view kind = parts[0];
  const bool known = kind == "session" || kind == "nodes" || kind == "queues" ||
                     std::find(kKinds.begin(), kKinds.end(), kind) != kKinds.end();
  if (!known) {
    return NotFound("no API kind " + echo_of(kind) +
                    " (session, nodes, queues, jobs, trainjobs, experiments, inferenceservices, "
                    "pipelines, runs, recurringruns, notebooks)");
  }
  q.kind = std::string(kind);
  if (parts.size() == 2) {
    if (kind == "session") return NotFound("/api/v1/session has nothing under it");
    RETURN_IF_ERROR(check_name("name", parts[1]));
    q.name = std::string(parts[1]);
  }
  return q;
}

}  // namespace

Result<ApiQuery> parse_api_target(std::string_view target) {
  if (target.size() > kMaxTarget) {
    return InvalidArgument("the request target is longer than " + std::to_string(kMaxTarget) +
                           " bytes");
  }
  const size_t mark = target.find('?');
  const std::string_view query = mark == target.npos ? "" : target.substr(mark + 1);
  ASSIGN_OR_RETURN(ApiQuery q, parse_api_path(target.substr(0, mark)));
  RETURN_IF_ERROR(parse_query(query, q));
  return q;
}

Result<ApiQuery> parse_api_call(std::string_view method, std::string_view target) {
  if (method == "GET") return parse_api_target(target);
  if (target.size() > kMaxTarget) return parse_api_target(target);
  const size_t mark = target.find('?');
  std::string_view path = target.substr(0, mark);
  const std::string_view query = mark == target.npos ? "" : target.substr(mark + 1);
  while (path.size() > kApiPrefix.size() && path.back() == '/') path.remove_suffix(1);
  if (method == "POST") {
    // An action on one object: POST .../notebooks/NAME/stop, .../trainjobs/NAME/suspend.
    struct Action {
      std::string_view verb;
      bool (*takes)(const std::string& kind);
    };
    const auto notebook = [](const std::string& kind) { return kind == "notebooks"; };
    const auto job = [](const std::string& kind) { return kind == "jobs" || kind == "trainjobs"; };
    for (const Action action : {Action{"stop", notebook}, Action{"start", notebook},
                                Action{"suspend", job}, Action{"resume", job}}) {
      const std::string suffix = "/" + std::string(action.verb);
      if (path.size() > suffix.size() &&
          path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
        auto q = parse_api_target(path.substr(0, path.size() - suffix.size()));
        if (q.ok() && action.takes(q->kind) && !q->name.empty() && q->verb == "get") {
          if (!query.empty())
            return InvalidArgument("a " + q->kind.substr(0, q->kind.size() - 1) + "'s " +
                                   suffix.substr(1) + " takes no query parameters");
          q->verb = std::string(action.verb);
          return q;
        }
      }
    }
    ApiQuery q;
    q.verb = "apply";
    std::string_view rest = path.substr(std::min(path.size(), kApiPrefix.size()));
    if (path.compare(0, kApiPrefix.size(), kApiPrefix) == 0 && rest.rfind("namespaces/", 0) == 0) {
      const auto parts = split(rest, '/');
      if (parts.size() == 3 && parts[2] == "apply") {
        RETURN_IF_ERROR(check_name("namespace", parts[1]));
        q.ns = std::string(parts[1]);
        rest = "apply";
      }
    }
    if (path.compare(0, kApiPrefix.size(), kApiPrefix) != 0 || rest != "apply") {
      return FailedPrecondition(
          "POST is served on /api/v1/apply (a manifest, as cadre apply -f), "
          "/api/v1/notebooks/NAME/stop|start and /api/v1/jobs|trainjobs/NAME/suspend|resume");
    }
    if (!query.empty()) return InvalidArgument("/api/v1/apply takes no query parameters");
    return q;
  }
  if (method == "DELETE") {
    ASSIGN_OR_RETURN(ApiQuery q, parse_api_path(path));
    if (q.name.empty() || q.kind == "session" || q.verb != "get") {
      return FailedPrecondition("DELETE takes one object: /api/v1/KIND/NAME");
    }
    q.verb = "delete";
    if (!query.empty()) {
      if (query != "purge=true" && query != "purge=false") {
        return InvalidArgument("DELETE takes only purge=true|false (a notebook's workspace)");
      }
      q.purge = query == "purge=true";
    }
    return q;
  }
  return FailedPrecondition(std::string(method.substr(0, 16)) +
                            " is not served: the API takes GET, DELETE and POST /api/v1/apply");
}

nlohmann::json api_page(nlohmann::json items, const ApiQuery& query) {
  std::vector<nlohmann::json> kept;
  for (auto& item : items) {
    if (passes(item, query) && text_of(item, "name") > query.after) kept.push_back(std::move(item));
  }
  std::sort(kept.begin(), kept.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return text_of(a, "name") < text_of(b, "name");
  });
  nlohmann::json page = nlohmann::json::array();
  for (size_t i = 0; i < kept.size() && i < query.limit; ++i) page.push_back(std::move(kept[i]));
  nlohmann::json next = nullptr;
  if (kept.size() > query.limit) next = text_of(page.back(), "name");
  return {{"items", std::move(page)}, {"continue", std::move(next)}};
}

}  // namespace cadre::ingress

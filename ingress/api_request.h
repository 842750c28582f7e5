// The pure rules of the ingress's HTTP API (docs/api.md), apart from its sockets so
// they are tested on their own: which call a request target names, its list
// filters and page, each bounded and checked before the coordinator is asked; and
// the filtering and paging of what the coordinator answered.
//
//   GET /api/v1/session                                  who the caller is
//   GET /api/v1/nodes[/NAME]
//   GET /api/v1/queues[/NAME]
//   GET /api/v1/[namespaces/NS/]KIND[/NAME][?filters]    KIND: jobs, trainjobs,
//       experiments, inferenceservices, pipelines, runs, recurringruns, notebooks
//   filters: limit (1..1000, default 500), continue (the last name of the previous
//   page), prefix (name prefix), phase (phase or state, as the object shows it),
//   owner (who made a job: "" for users' own, "experiment/x", ...), labelSelector
//   (k=v[,k=v...], on objects with labels)
//   GET /api/v1/[namespaces/NS/]{jobs,trainjobs}/NAME/logs[?replica=&offset=&maxBytes=]
//   GET /api/v1/[namespaces/NS/]{jobs,trainjobs}/NAME/metrics[?metric=&maxPoints=]
//   GET /api/v1/[namespaces/NS/]inferenceservices/NAME/traffic   this ingress's last hour
//   GET /api/v1/[namespaces/NS/]lineage?artifact=URI[&direction=upstream|downstream&depth=N]
//   DELETE /api/v1/[namespaces/NS/]KIND/NAME[?purge=true]    as `cadre delete`
//   POST   /api/v1/[namespaces/NS/]apply   (a manifest)      as `cadre apply -f`
//   POST   /api/v1/[namespaces/NS/]notebooks/NAME/{stop,start}  as `cadre notebook stop`
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/status.h"

namespace cadre::ingress {

inline constexpr std::string_view kApiPrefix = "/api/v1/";
inline constexpr size_t kApiMaxLimit = 1000;
inline constexpr int64_t kApiMaxLogBytes = 4 << 20;
inline constexpr int64_t kApiDefaultLogBytes = 256 << 10;
inline constexpr int64_t kApiMaxMetricPoints = 100000;
inline constexpr size_t kApiMaxArtifactUri = 2048;
inline constexpr int kApiMaxLineageDepth = 50;
inline constexpr size_t kApiMaxLineageRuns = 5000;

struct ApiQuery {
  // "get", "logs", "metrics", "traffic" or "lineage" read; "apply", "delete",
  // "stop" and "start" change.
  std::string verb = "get";
  std::string kind;  // "session", "nodes", "queues", or one of the kinds above (plural, lower case)
  std::string ns;    // from /namespaces/NS/; "" when the path names none
  std::string name;  // one object; "" lists them
  size_t limit = 500;
  std::string after;  // `continue`: list names after this one
  std::string prefix;
  std::optional<std::string> phase;
  std::optional<std::string> owner;
  std::vector<std::pair<std::string, std::string>> labels;  // every one must match
  bool purge = false;  // DELETE of a notebook: its workspace folder too
  // logs: which replica ("worker-1"; "" the first), from which byte (negative:
  // that many from the end), at most how many bytes.
  std::string replica;
  int64_t offset = 0;
  int64_t max_bytes = kApiDefaultLogBytes;
  // metrics: one metric ("" every one), the newest this many points.
  std::string metric;
  int64_t max_points = 10000;
  // lineage: which artifact (its URI), which way, how many steps away.
  std::string artifact;
  bool downstream = false;
  int depth = 10;
};

// The call a GET target (path and query) names. InvalidArgument (400) names the
// parameter or segment that is wrong; NotFound (404) for a path the API does not
// have. The target is at most 8 KiB (the HTTP server's header bound is larger).
Result<ApiQuery> parse_api_target(std::string_view target);
// The call a request names by its method too: GET as above, DELETE of one object
// (no parameter but purge), POST to apply. FailedPrecondition (answered 405) for
// any other method, or a method on a path that does not take it.
Result<ApiQuery> parse_api_call(std::string_view method, std::string_view target);

// One page of `items` (each an object with "name"), sorted by name: those that
// pass the filters, after `after`, at most `limit`:
// {"items": [...], "continue": LAST_NAME or null when nothing follows}.
nlohmann::json api_page(nlohmann::json items, const ApiQuery& query);

// Whether a call changes something (and so must come from this ingress's pages
// or a program, with the session's CSRF token when it has a session).
bool is_change(const ApiQuery& query);

// Whether a name could be an object's: ASCII letters, digits, '-', '.', '_',
// starting with a letter or digit, at most 253 bytes (nothing that could climb a
// path or need escaping).
bool is_api_name(std::string_view name);

}  // namespace cadre::ingress

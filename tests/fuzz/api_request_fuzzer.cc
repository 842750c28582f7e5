// libFuzzer target for the HTTP API's request rules (ingress/api_request.h): the
// first byte picks a method, the rest is the target. Any request is refused or
// parsed into a call of its method's verb (a read for GET, a change otherwise)
// whose names could never climb a path, whose log and metric reads are bounded,
// whose page is bounded, and whose page of a fixed list is sorted and no longer
// than asked for.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingress/api_request.h"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cadre::ingress;
  if (size == 0) return 0;
  static const char* const kMethods[] = {"GET", "DELETE", "POST", "PUT"};
  const std::string method = kMethods[data[0] % 4];
  const std::string target(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto q = parse_api_call(method, target);
  if (!q.ok()) return 0;
  require(method != "PUT");
  if (method == "GET") {
    require(q->verb == "get" || q->verb == "logs" || q->verb == "metrics" || q->verb == "traffic" ||
            q->verb == "lineage");
  } else if (method == "DELETE") {
    require(q->verb == "delete");
  } else {
    require(q->verb == "apply" || q->verb == "stop" || q->verb == "start" || q->verb == "suspend" ||
            q->verb == "resume");
    // An action on one object takes only the kinds it is for.
    if (q->verb == "stop" || q->verb == "start")
      require(q->kind == "notebooks" && !q->name.empty());
    if (q->verb == "suspend" || q->verb == "resume") {
      require((q->kind == "jobs" || q->kind == "trainjobs") && !q->name.empty());
    }
  }
  require(is_change(*q) == (method != "GET"));
  // Lineage: of one artifact, bounded.
  if (q->verb == "lineage") {
    require(!q->artifact.empty() && q->artifact.size() <= kApiMaxArtifactUri && q->depth >= 1 &&
            q->depth <= kApiMaxLineageDepth && q->name.empty());
  }
  // Traffic: one inference service's, by name.
  if (q->verb == "traffic") require(q->kind == "inferenceservices" && !q->name.empty());
  // Logs and metric histories: a job's, by name, with bounded reads.
  if (q->verb == "logs" || q->verb == "metrics") {
    require(!q->name.empty() && (q->kind == "jobs" || q->kind == "trainjobs"));
  }
  require(q->max_bytes >= 1 && q->max_bytes <= kApiMaxLogBytes);
  require(q->max_points >= 1 && q->max_points <= kApiMaxMetricPoints);
  require(q->replica.empty() || is_api_name(q->replica));
  require(q->metric.size() <= 128);
  if (q->verb == "stop" || q->verb == "start") require(q->kind == "notebooks" && !q->name.empty());
  require(q->verb != "delete" || !q->name.empty());
  require(q->limit >= 1 && q->limit <= kApiMaxLimit);
  require(q->name.empty() || is_api_name(q->name));
  require(q->ns.empty() || is_api_name(q->ns));
  require(q->after.empty() || is_api_name(q->after));
  require(q->labels.size() <= 16);
  nlohmann::json items = nlohmann::json::array();
  for (const char* name : {"c", "a", "b", "a-1", "zz"}) {
    items.push_back({{"name", name}, {"phase", "Running"}, {"labels", {{"zone", "a"}}}});
  }
  const auto page = api_page(items, *q);
  require(page.at("items").size() <= q->limit);
  std::string last;
  for (const auto& item : page.at("items")) {
    const std::string name = item.at("name");
    require(name > last && name > q->after);
    last = name;
  }
  return 0;
}

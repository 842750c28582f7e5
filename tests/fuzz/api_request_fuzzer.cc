// libFuzzer target for the HTTP API's request rules (ingress/api_request.h): the
// first byte picks a method, the rest is the target. Any request is refused or
// parsed into a call of its method's verb whose names could never climb a path,
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
  require(q->verb == (method == "GET" ? "get" : method == "DELETE" ? "delete" : "apply"));
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

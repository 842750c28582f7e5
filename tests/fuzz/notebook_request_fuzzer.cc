// libFuzzer target for the notebook proxy's parsers (ingress/notebook_request.h):
// request paths, cookies, login forms, Origin headers and Jupyter's activity
// answers. The first byte picks the parser; the rest is its input. Besides never
// crashing, what they accept must hold the rules the proxy relies on: a notebook
// path names DNS labels, a login redirect stays on /notebook/, and Cadre's
// session cookie never survives the filter that keeps it from Jupyter.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingress/notebook_request.h"
#include "protocol/spec/yaml_reader.h"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cadre::ingress;
  if (size == 0) return 0;
  const uint8_t which = data[0] % 6;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nul = input.find('\0');
  const std::string first = input.substr(0, nul);
  const std::string second = nul == std::string::npos ? "" : input.substr(nul + 1);
  switch (which) {
    case 0: {
      auto t = parse_notebook_target(input);
      if (t.ok()) {
        require(cadre::spec::is_dns_label(t->ns) && cadre::spec::is_dns_label(t->name));
      }
      const std::string next = safe_next(input);
      // A login goes on to a notebook or a dashboard page of this ingress, nowhere else.
      require(next.rfind("/notebook/", 0) == 0 || next.rfind("/ui/", 0) == 0);
      require(next.find("//") == std::string::npos);
      require(next.find("..") == std::string::npos);
      require(next.find_first_of("\\\r\n") == std::string::npos);
      break;
    }
    case 1: {
      (void)cookie_value(input, kSessionCookie);
      const std::string kept = without_cookie(input, kSessionCookie);
      require(cookie_value(kept, kSessionCookie).empty());
      break;
    }
    case 2:
      (void)parse_jupyter_time(input);
      break;
    case 3: {
      auto a = parse_jupyter_activity(first, second);
      if (a.ok()) require(a->kernels >= 0);
      break;
    }
    case 4:
      (void)query_parameter(input, "code");
      (void)form_value(input, "token");
      break;
    case 5:
      (void)check_origin(first, second, "", true);
      (void)check_origin(first, second, "cross-site", false);
      break;
  }
  return 0;
}

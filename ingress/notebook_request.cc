#include "ingress/notebook_request.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <vector>

#include "protocol/spec/yaml_reader.h"

namespace cadre::ingress {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; nullopt for a broken escape. `plus_is_space` for form bodies.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = false) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_digit(in[i + 1]);
      const int lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "a=1&b=2" pairs (query strings and form bodies).
std::optional<std::string> pair_value(std::string_view text, std::string_view name, bool form) {
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      if (eq == std::string_view::npos) return std::string();
      return percent_decode(pair.substr(eq + 1), form);
    }
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

Result<NotebookTarget> parse_notebook_target(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.substr(0, kNotebookPrefix.size()) != kNotebookPrefix) {
    return NotFound("not a notebook path: it starts with /notebook/<namespace>/<name>/");
  }
  // Every segment is checked as the server behind would read it, decoded: a "..",
  // plain or encoded, never reaches Jupyter (or climbs into another notebook).
  std::vector<std::string> segments;
  std::string_view rest = path.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const auto raw = rest.substr(0, slash);
    auto decoded = percent_decode(raw);
    if (!decoded) return InvalidArgument("the path has a broken %-escape");
    if (*decoded == "." || *decoded == "..") {
      return InvalidArgument("the path has a '.' or '..' segment");
    }
    if (decoded->find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return InvalidArgument("the path has an encoded '/', a '\\' or a NUL in a segment");
    }
    segments.push_back(std::move(*decoded));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  // segments: "notebook", ns, name, ...
  if (segments.size() < 3 || segments[1].empty() || segments[2].empty()) {
    return NotFound("no notebook in the path: it is /notebook/<namespace>/<name>/");
  }
  NotebookTarget t;
  t.ns = segments[1];
  t.name = segments[2];
  if (!spec::is_dns_label(t.ns) || !spec::is_dns_label(t.name)) {
    return InvalidArgument(
        "the namespace and name in /notebook/<namespace>/<name>/ are DNS labels");
  }
  t.bare = segments.size() == 3;
  return t;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      return std::string(trim(pair.substr(eq + 1)));
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return "";
}

std::string without_cookie(std::string_view header, std::string_view name) {
  std::string out;
  while (!header.empty()) {
    const size_t semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const size_t eq = pair.find('=');
    if (!pair.empty() && trim(pair.substr(0, eq)) != name) {
      if (!out.empty()) out += "; ";
      out += pair;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return out;
}

std::string session_set_cookie(const std::string& session, int64_t max_age_seconds, bool secure) {
  return std::string(kSessionCookie) + "=" + session +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_seconds) +
         (secure ? "; Secure" : "");
}

bool changes_state(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

Status check_origin(std::string_view origin, std::string_view host, std::string_view fetch_site,
                    bool by_cookie) {
  if (fetch_site == "cross-site") {
    return PermissionDenied("a cross-site request (Sec-Fetch-Site: cross-site) is refused");
  }
  if (origin.empty()) {
    if (by_cookie) {
      return PermissionDenied(
          "a request that changes state with a session cookie must carry an Origin header");
    }
    return Status::Ok();
  }
  if (!host.empty() &&
      (origin == "http://" + std::string(host) || origin == "https://" + std::string(host))) {
    return Status::Ok();
  }
  return PermissionDenied("Origin '" + std::string(origin).substr(0, 200) +
                          "' is not this ingress (" + std::string(host).substr(0, 200) + ")");
}

Result<int64_t> parse_jupyter_time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > text.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto bad = [&] {
    return InvalidArgument("not an ISO 8601 UTC time: '" + std::string(text.substr(0, 64)) + "'");
  };
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
             minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':' || *month < 1 ||
      *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return bad();
  }
  size_t at = 19;
  int64_t millis = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int scale = 100;
    const size_t start = at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
      if (scale > 0) millis += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return bad();
  }
  const std::string_view zone = text.substr(at);
  if (zone != "Z" && zone != "+00:00" && !zone.empty()) return bad();
  struct tm t {};
  t.tm_year = *year - 1900;
  t.tm_mon = *month - 1;
  t.tm_mday = *day;
  t.tm_hour = *hour;
  t.tm_min = *minute;
  t.tm_sec = *second;
  return static_cast<int64_t>(timegm(&t)) * 1000 + millis;
}

Result<protocol::NotebookActivity> parse_jupyter_activity(const std::string& status_json,
                                                          const std::string& kernels_json) {
  // A custom server is the user's program: what it answers is bounded like any input.
  constexpr size_t kMaxAnswer = 1 << 20;
  if (status_json.size() > kMaxAnswer || kernels_json.size() > kMaxAnswer) {
    return InvalidArgument("api/status or api/kernels answered more than 1 MiB");
  }
  const auto status = nlohmann::json::parse(status_json, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object() || !status.contains("last_activity") ||
      !status["last_activity"].is_string()) {
    return InvalidArgument("api/status is not Jupyter's status (no last_activity)");
  }
  protocol::NotebookActivity a;
  ASSIGN_OR_RETURN(a.last_activity_ms,
                   parse_jupyter_time(status["last_activity"].get<std::string>()));
  const auto kernels = nlohmann::json::parse(kernels_json, nullptr, false);
  if (!kernels.is_array()) return InvalidArgument("api/kernels is not a list of kernels");
  for (const auto& k : kernels) {
    if (!k.is_object()) return InvalidArgument("api/kernels has an entry that is not a kernel");
    a.kernels++;
    // A kernel counts as executing unless Jupyter says it is idle (or dead): a
    // starting or restarting one may be about to run, and Jupyter's own tracking
    // can stay at "starting" for good when it misses the kernel's first messages
    // (seen with Debian 12's notebook 6.4 and pyzmq 24 under load). A kernel whose
    // state is unknown is never culled: it may be running someone's work. A
    // server that gives no state at all says nothing either way.
    const auto state = k.contains("execution_state") && k["execution_state"].is_string()
                           ? k["execution_state"].get<std::string>()
                           : std::string();
    if (!state.empty() && state != "idle" && state != "dead") a.busy = true;
    if (k.contains("last_activity") && k["last_activity"].is_string()) {
      auto at = parse_jupyter_time(k["last_activity"].get<std::string>());
      if (at.ok()) a.last_activity_ms = std::max(a.last_activity_ms, *at);
    }
  }
  return a;
}

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  return pair_value(target.substr(q + 1), name, /*form=*/true);
}

std::optional<std::string> form_value(std::string_view body, std::string_view name) {
  return pair_value(body, name, /*form=*/true);
}

std::string safe_next(std::string_view next) {
  static constexpr std::string_view kDashboard = "/ui/";
  if (next.find("//") != std::string_view::npos || next.find("..") != std::string_view::npos) {
    return std::string(kDashboard);
  }
  // A dashboard page: its path is all it is (no query, nothing to escape).
  if (next.substr(0, kDashboard.size()) == kDashboard) {
    const bool plain = std::all_of(next.begin(), next.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '.' ||
             c == '_' || c == '~' || c == '%';
    });
    return plain ? std::string(next) : std::string(kDashboard);
  }
  if (next.substr(0, kNotebookPrefix.size()) != kNotebookPrefix ||
      next.find_first_of("\\\r\n") != std::string_view::npos || !parse_notebook_target(next).ok()) {
    return std::string(kDashboard);
  }
  return std::string(next);
}

}  // namespace cadre::ingress

// Wall-clock milliseconds since the Unix epoch: what status fields and events carry
// (durations inside the coordinator use steady_clock instead).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace cadre {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Wall-clock ms as UTC text in a strftime format; the default is RFC 3339.
inline std::string utc_text(int64_t ms, const char* format = "%Y-%m-%dT%H:%M:%SZ") {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace cadre

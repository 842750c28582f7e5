#include "client/time_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "protocol/wall_clock.h"

namespace cadre::client {

std::string rfc3339(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string rfc3339_ms(int64_t unix_ms) {
  std::string s = rfc3339(unix_ms);
  char fraction[8];
  std::snprintf(fraction, sizeof(fraction), ".%03d",
                static_cast<int>(((unix_ms % 1000) + 1000) % 1000));
  s.insert(s.size() - 1, fraction);
  return s;
}

std::string format_age(int64_t span_ms) {
  if (span_ms < 0) span_ms = 0;
  const int64_t s = span_ms / 1000;
  const auto two = [](int64_t big, const char* big_unit, int64_t small, const char* small_unit) {
    std::string out = std::to_string(big) + big_unit;
    if (small > 0) out += std::to_string(small) + small_unit;
    return out;
  };
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return two(s / 60, "m", s % 60, "s");
  if (s < 86400) return two(s / 3600, "h", (s % 3600) / 60, "m");
  return two(s / 86400, "d", (s % 86400) / 3600, "h");
}

std::string age_since(int64_t unix_ms, int64_t now_ms) {
  if (unix_ms <= 0) return "-";
  return format_age(now_ms - unix_ms);
}

namespace {

// Up to `decimals` digits, trailing zeros dropped: 1.50 -> "1.5", 4.00 -> "4".
std::string trim_number(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  std::string out = buffer;
  if (out.find('.') != std::string::npos) {
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

}  // namespace

std::string format_cores(int64_t millis) { return trim_number(millis / 1000.0, 3); }

int64_t now_unix_ms() { return wall_ms(); }

}  // namespace cadre::client

// Times and quantities as people read them.
#pragma once

#include <cstdint>
#include <string>

namespace cadre::client {

// Milliseconds since the Unix epoch as RFC 3339 UTC: "2024-05-01T12:00:03Z".
std::string rfc3339(int64_t unix_ms);
// The same with milliseconds ("2026-11-29T18:04:50.123Z"), for step and run times.
std::string rfc3339_ms(int64_t unix_ms);

// kubectl-style age of a span in milliseconds: "45s", "3m12s", "5h2m", "3d4h".
std::string format_age(int64_t span_ms);

// Age of `unix_ms` relative to `now_ms`; "-" when the time is unset (0).
std::string age_since(int64_t unix_ms, int64_t now_ms);

// Millicores as cores: 4000 -> "4", 1500 -> "1.5", 250 -> "0.25".
std::string format_cores(int64_t millis);

int64_t now_unix_ms();

}  // namespace cadre::client

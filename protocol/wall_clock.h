// Wall-clock milliseconds since the Unix epoch: what status fields and events carry
// (durations inside the coordinator use steady_clock instead).
#pragma once

#include <chrono>
#include <cstdint>

namespace cadre {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cadre

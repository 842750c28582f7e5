// Waits for a condition instead of sleeping a fixed time: polls `condition` every
// `poll` until it holds or `timeout` passes; returns whether it held.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace cadre::testing {

inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10),
                       std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace cadre::testing

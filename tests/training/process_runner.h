// Helpers for end-to-end tests of cadre-train: peers on free local ports and the
// metric lines it prints (commands run through tests/support/child_process.h).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/free_port.h"
#include "training/collectives/socket.h"

namespace cadre::testing {

inline std::string local_peers(int n) {
  std::string peers;
  for (int i = 0; i < n; ++i)
    peers += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(free_port());
  return peers;
}

// Test accuracies from every "epoch=N loss=X accuracy=Y images_per_sec=Z" line.
inline std::vector<double> accuracies(const std::string& out) {
  static const std::regex line(R"(epoch=\d+ loss=[0-9.]+ accuracy=([0-9.]+) images_per_sec=)");
  std::vector<double> acc;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator();
       ++it)
    acc.push_back(std::stod((*it)[1]));
  return acc;
}

}  // namespace cadre::testing

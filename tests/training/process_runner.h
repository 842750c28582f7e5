// Runs cadre-train (or any command) as a child process for end-to-end tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/free_port.h"
#include "training/collectives/socket.h"

namespace cadre::testing {

struct Run {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

inline Run run(const std::string& command) {
  Run r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

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

// The process environment as a map, name to value: the one reader of `environ`
// for code that passes an environment on (the agent's launches, cadre-rsh's
// commands, cadre-train's contract, test process runners). Entries without '=' or
// with an empty name are skipped.
#pragma once

#include <unistd.h>

#include <map>
#include <string>

namespace cadre {

inline std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

}  // namespace cadre

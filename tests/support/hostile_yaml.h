// Manifests built to hurt, shared by the parser's unit tests and the cluster tests.
#pragma once

#include <string>

namespace cadre::testing {

// "Billion laughs": ten levels, each a list of ten aliases of the level below —
// 10^10 strings once expanded, from about a kilobyte of text — used as a Job's args.
inline std::string alias_bomb_manifest() {
  std::string yaml = "apiVersion: cadre/v1\nkind: Job\nmetadata: {name: bomb}\nx0: &a0 [lol]\n";
  for (int level = 1; level <= 10; ++level) {
    const std::string below = "*a" + std::to_string(level - 1);
    yaml += "x" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) yaml += (i ? ", " : "") + below;
    yaml += "]\n";
  }
  return yaml + "spec:\n  template:\n    command: [\"true\"]\n    args: *a10\n";
}

}  // namespace cadre::testing

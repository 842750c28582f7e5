// Bounds on a manifest from outside, checked before and while it is read: its size
// before parsing, and — while walking the document as the spec readers will see it,
// YAML aliases expanded — its node count, scalar bytes and depth. The walk stops at
// the first limit it passes, so a 1 KB "billion laughs" costs at most max_nodes
// steps instead of gigabytes of arguments. The same walk refuses duplicate keys in
// any map (YAML would silently keep one of them) and keys that are not text.
#pragma once

#include <cstddef>
#include <limits>

#include <yaml-cpp/yaml.h>

#include "protocol/status.h"

namespace cadre::spec {

struct ManifestLimits {
  size_t max_bytes = size_t{1} << 20;  // the manifest's text (coordinator: --max-manifest-bytes)
  size_t max_nodes = 100000;           // YAML nodes, aliases expanded
  size_t max_expanded_bytes = size_t{8} << 20;  // scalar text, aliases expanded
  size_t max_depth = 64;                        // nesting of maps and lists

  // For manifests accepted earlier and now read back from the store.
  static ManifestLimits none() {
    constexpr size_t kAll = std::numeric_limits<size_t>::max();
    return ManifestLimits{kAll, kAll, kAll, kAll};
  }
};

// Whether `root`, walked with aliases expanded, stays within `limits` and has no
// duplicate map key. Errors name the field path and the limit.
Status check_document(const YAML::Node& root, const ManifestLimits& limits);

}  // namespace cadre::spec

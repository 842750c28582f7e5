// Bounds applied to every untrusted message before and while it is decoded.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cadre::protocol {

// Default ZMQ_MAXMSGSIZE: a larger frame closes the peer's connection inside ZeroMQ.
inline constexpr int64_t kDefaultMaxMessageBytes = 64ll << 20;

struct DecodeLimits {
  size_t max_depth = 16;                // nesting of arrays/maps
  size_t max_elements = 1 << 20;        // entries of one array or map
  size_t max_string_bytes = 64u << 20;  // one str/bin/ext
};

}  // namespace cadre::protocol

// Which contiguous slice of the flat parameter vector each parameter server
// owns: a balanced partition (the first total % servers shards get one more).
#pragma once

#include <cstddef>

namespace cadre::training::ps {

struct ShardRange {
  size_t offset = 0;
  size_t count = 0;
};

inline ShardRange shard_range(size_t total, int servers, int index) {
  const size_t base = total / servers, extra = total % servers;
  const size_t begin = base * index + (static_cast<size_t>(index) < extra ? index : extra);
  return {begin, base + (static_cast<size_t>(index) < extra ? 1 : 0)};
}

}  // namespace cadre::training::ps

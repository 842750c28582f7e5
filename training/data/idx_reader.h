// Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.), gzip
// compressed or not: a 4-byte magic (0, 0, type, rank), rank big-endian uint32
// dimensions, then the values. Only unsigned-byte data (type 0x08) is used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::training {

struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> values;
};

// NotFound when the file is missing; DataLoss, naming the file and what was
// wrong, when it is truncated, not IDX, or claims more than max_values.
Result<IdxArray> read_idx(const std::string& path, size_t max_values = size_t{1} << 31);

}  // namespace cadre::training

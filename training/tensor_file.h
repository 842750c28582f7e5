// The on-disk container shared by checkpoints and exported models: a small
// binary preamble, a JSON header describing everything, then raw float32
// tensors. Layout (all integers little-endian; see docs/training.md):
//
//   0   8  magic            "CADREMDL" (model) or "CADRECKP" (checkpoint)
//   8   4  version          1
//   12  4  header_bytes     H, at most 16 MiB
//   16  8  payload_bytes    P
//   24  4  payload_crc32    zlib CRC-32 of the P payload bytes
//   28  4  header_crc32     zlib CRC-32 of the H header bytes
//   32  H  header           UTF-8 JSON; "tensors": [{name, shape, offset}]
//   ..     zero padding to a multiple of 64 bytes
//   ..  P  payload          each tensor as float32, at payload offset `offset`
//                           (a multiple of 64), prod(shape) values
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/status.h"
#include "training/tensor.h"

namespace cadre::training {

constexpr char kModelMagic[] = "CADREMDL";
constexpr char kCheckpointMagic[] = "CADRECKP";

struct NamedTensor {
  std::string name;
  Shape shape;
  std::vector<float> values;
};

struct TensorFile {
  nlohmann::json header;  // without the "tensors" list, which becomes `tensors`
  std::vector<NamedTensor> tensors;

  const NamedTensor* find(const std::string& name) const;
};

// Writes atomically: a temporary file in the same directory, fsync, rename over
// path, fsync of the directory. A crash leaves the old file or the new one.
Status write_tensor_file(const std::string& path, const char* magic, const TensorFile& file);

// Reads and verifies magic, version, sizes and both CRCs; DataLoss names the
// file and what was wrong.
Result<TensorFile> read_tensor_file(const std::string& path, const char* magic);

}  // namespace cadre::training

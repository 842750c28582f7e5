// Tensor element types, numbered as Triton's model_config.proto numbers them, with
// their names in the three places they appear: the Open Inference Protocol ("FP32"),
// config.pbtxt ("TYPE_FP32") and the wire sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/status.h"

namespace cadre::serving {

enum class DataType : uint8_t {
  kInvalid = 0,
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBytes,  // config.pbtxt's TYPE_STRING
  kBf16,
};
constexpr int kLastDataType = static_cast<int>(DataType::kBf16);

// "FP32", "BYTES", ...
const char* v2_name(DataType type);
// "TYPE_FP32", "TYPE_STRING", ...
const char* config_name(DataType type);
// From a V2 name; an unknown name is InvalidArgument naming it.
Result<DataType> parse_v2_datatype(const std::string& name);
// Bytes per element; 0 for BYTES (variable length) and kInvalid.
size_t element_size(DataType type);

}  // namespace cadre::serving

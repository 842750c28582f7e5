#include "serving/data_type.h"

namespace cadre::serving {
namespace {

struct TypeInfo {
  const char* v2;
  const char* config;
  size_t size;
};

constexpr TypeInfo kTypes[] = {
    {"INVALID", "TYPE_INVALID", 0}, {"BOOL", "TYPE_BOOL", 1},     {"UINT8", "TYPE_UINT8", 1},
    {"UINT16", "TYPE_UINT16", 2},   {"UINT32", "TYPE_UINT32", 4}, {"UINT64", "TYPE_UINT64", 8},
    {"INT8", "TYPE_INT8", 1},       {"INT16", "TYPE_INT16", 2},   {"INT32", "TYPE_INT32", 4},
    {"INT64", "TYPE_INT64", 8},     {"FP16", "TYPE_FP16", 2},     {"FP32", "TYPE_FP32", 4},
    {"FP64", "TYPE_FP64", 8},       {"BYTES", "TYPE_STRING", 0},  {"BF16", "TYPE_BF16", 2},
};

const TypeInfo& info(DataType type) {
  const auto i = static_cast<size_t>(type);
  return i < sizeof(kTypes) / sizeof(kTypes[0]) ? kTypes[i] : kTypes[0];
}

}  // namespace

const char* v2_name(DataType type) { return info(type).v2; }
const char* config_name(DataType type) { return info(type).config; }
size_t element_size(DataType type) { return info(type).size; }

Result<DataType> parse_v2_datatype(const std::string& name) {
  for (int i = 1; i <= kLastDataType; ++i)
    if (name == kTypes[i].v2) return static_cast<DataType>(i);
  return InvalidArgument("unknown datatype '" + name.substr(0, 32) +
                         "' (expected BOOL, UINT8..UINT64, INT8..INT64, FP16, BF16, FP32, FP64 "
                         "or BYTES)");
}

}  // namespace cadre::serving

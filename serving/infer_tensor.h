// A tensor as requests and responses carry it: name, element type, shape and the
// elements as row-major little-endian bytes — the layout of the V2 binary extension
// and of gRPC raw contents, so those front ends copy nothing they do not have to.
// BYTES elements are each a 4-byte little-endian length followed by the bytes,
// as Triton encodes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"
#include "serving/data_type.h"

namespace cadre::serving {

using Dims = std::vector<int64_t>;

struct InferTensor {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Dims shape;
  std::string data;
};

// The element count of `shape`: every dimension >= 0, the product at most
// `max_elements`, checked before the product can overflow. Errors name `what`.
Result<int64_t> element_count(const Dims& shape, int64_t max_elements, const std::string& what);

// The bytes a tensor of this type and element count takes (fixed-size types).
inline int64_t fixed_byte_size(DataType type, int64_t elements) {
  return static_cast<int64_t>(element_size(type)) * elements;
}

// Checks that `data` holds exactly the elements `shape` declares: the byte size for
// fixed-size types, the length-prefixed elements for BYTES. Errors name the tensor.
Status check_tensor_data(const InferTensor& tensor, int64_t max_elements);

// Appends one BYTES element.
void append_bytes_element(std::string* data, std::string_view element);
// How many BYTES elements `data` holds, walking the prefixes without allocating;
// DataLoss if they do not add up.
Result<int64_t> count_bytes_elements(std::string_view data);
// The BYTES elements of `data`, or DataLoss if the length prefixes do not add up.
Result<std::vector<std::string_view>> split_bytes_elements(std::string_view data);

// "[2,1,28,28]"
std::string dims_string(const Dims& dims);

}  // namespace cadre::serving

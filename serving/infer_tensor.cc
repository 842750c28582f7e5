#include "serving/infer_tensor.h"

#include <cstring>

namespace cadre::serving {

Result<int64_t> element_count(const Dims& shape, int64_t max_elements, const std::string& what) {
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      return InvalidArgument(what + ": shape " + dims_string(shape) + " has negative dimension " +
                             std::to_string(shape[i]) + " at index " + std::to_string(i));
    if (shape[i] != 0 && count > max_elements / shape[i])
      return InvalidArgument(what + ": shape " + dims_string(shape) + " has more than " +
                             std::to_string(max_elements) + " elements");
    count *= shape[i];
  }
  return count;
}

Status check_tensor_data(const InferTensor& tensor, int64_t max_elements) {
  const std::string what = "input '" + tensor.name + "'";
  ASSIGN_OR_RETURN(const int64_t count, element_count(tensor.shape, max_elements, what));
  if (tensor.datatype != DataType::kBytes) {
    const int64_t expected = fixed_byte_size(tensor.datatype, count);
    if (static_cast<int64_t>(tensor.data.size()) != expected)
      return InvalidArgument(what + ": shape " + dims_string(tensor.shape) + " of " +
                             v2_name(tensor.datatype) + " needs " + std::to_string(expected) +
                             " bytes, got " + std::to_string(tensor.data.size()));
    return Status::Ok();
  }
  auto elements = count_bytes_elements(tensor.data);
  if (!elements.ok()) return InvalidArgument(what + ": " + elements.status().message());
  if (*elements != count)
    return InvalidArgument(what + ": shape " + dims_string(tensor.shape) + " has " +
                           std::to_string(count) + " elements, got " + std::to_string(*elements));
  return Status::Ok();
}

void append_bytes_element(std::string* data, std::string_view element) {
  const auto n = static_cast<uint32_t>(element.size());
  const char prefix[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                          static_cast<char>((n >> 16) & 0xff), static_cast<char>(n >> 24)};
  data->append(prefix, 4);
  data->append(element);
}

namespace {

// Calls visit(element) for each length-prefixed element.
template <typename Visit>
Status walk_bytes_elements(std::string_view data, Visit visit) {
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 4)
      return DataLoss("BYTES data ends inside a 4-byte length prefix at offset " +
                      std::to_string(at));
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
    const uint32_t n = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
    at += 4;
    if (n > data.size() - at)
      return DataLoss("BYTES element at offset " + std::to_string(at - 4) + " claims " +
                      std::to_string(n) + " bytes, " + std::to_string(data.size() - at) +
                      " remain");
    visit(std::string_view(data.data() + at, n));
    at += n;
  }
  return Status::Ok();
}

}  // namespace

Result<int64_t> count_bytes_elements(std::string_view data) {
  int64_t count = 0;
  RETURN_IF_ERROR(walk_bytes_elements(data, [&](std::string_view) { ++count; }));
  return count;
}

Result<std::vector<std::string_view>> split_bytes_elements(std::string_view data) {
  std::vector<std::string_view> out;
  RETURN_IF_ERROR(walk_bytes_elements(data, [&](std::string_view e) { out.push_back(e); }));
  return out;
}

std::string dims_string(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace cadre::serving

// Encoding V2 inference responses: JSON written directly (numbers with
// std::to_chars), binary outputs after the header.
#include <charconv>
#include <cmath>
#include <cstring>

#include "serving/half_float.h"
#include "serving/http/v2_json.h"

namespace cadre::serving::http {
namespace {

using json = nlohmann::json;

void write_number(std::string* out, double v) {
  char buf[32];
  if (!std::isfinite(v)) {
    *out += std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
    return;
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void write_float(std::string* out, float v) {
  char buf[32];
  if (!std::isfinite(v)) return write_number(out, v);
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

template <typename T>
void write_ints(std::string* out, const std::string& data) {
  const size_t n = data.size() / sizeof(T);
  char buf[24];
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
    if (i) *out += ',';
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, end);
  }
}

void write_data(std::string* out, const InferTensor& t) {
  *out += '[';
  const std::string& d = t.data;
  switch (t.datatype) {
    case DataType::kBool:
      for (size_t i = 0; i < d.size(); ++i)
        *out += (i ? "," : "") + std::string(d[i] ? "true" : "false");
      break;
    case DataType::kUint8:
      write_ints<uint8_t>(out, d);
      break;
    case DataType::kUint16:
      write_ints<uint16_t>(out, d);
      break;
    case DataType::kUint32:
      write_ints<uint32_t>(out, d);
      break;
    case DataType::kUint64:
      write_ints<uint64_t>(out, d);
      break;
    case DataType::kInt8:
      write_ints<int8_t>(out, d);
      break;
    case DataType::kInt16:
      write_ints<int16_t>(out, d);
      break;
    case DataType::kInt32:
      write_ints<int32_t>(out, d);
      break;
    case DataType::kInt64:
      write_ints<int64_t>(out, d);
      break;
    case DataType::kFp32:
      for (size_t i = 0; i < d.size() / 4; ++i) {
        float v;
        std::memcpy(&v, d.data() + i * 4, 4);
        if (i) *out += ',';
        write_float(out, v);
      }
      break;
    case DataType::kFp64:
      for (size_t i = 0; i < d.size() / 8; ++i) {
        double v;
        std::memcpy(&v, d.data() + i * 8, 8);
        if (i) *out += ',';
        write_number(out, v);
      }
      break;
    case DataType::kFp16:
    case DataType::kBf16:
      for (size_t i = 0; i < d.size() / 2; ++i) {
        uint16_t h;
        std::memcpy(&h, d.data() + i * 2, 2);
        if (i) *out += ',';
        write_float(out, t.datatype == DataType::kFp16 ? half_to_float(h) : bf16_to_float(h));
      }
      break;
    case DataType::kBytes: {
      auto elements = split_bytes_elements(d);
      if (!elements.ok()) break;
      for (size_t i = 0; i < elements->size(); ++i) {
        if (i) *out += ',';
        *out +=
            json(std::string((*elements)[i])).dump(-1, ' ', false, json::error_handler_t::replace);
      }
      break;
    }
    default:
      break;
  }
  *out += ']';
}

void write_shape(std::string* out, const Dims& shape) {
  *out += '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) *out += ',';
    *out += std::to_string(shape[i]);
  }
  *out += ']';
}

}  // namespace

EncodedResponse encode_infer_response(const InferResponse& response, const InferRequest& request) {
  EncodedResponse out;
  std::string& j = out.json;
  j.reserve(256);
  j += "{\"model_name\":";
  j += json(response.model).dump();
  j += ",\"model_version\":\"" + std::to_string(response.version) + "\"";
  if (!response.id.empty())
    j += ",\"id\":" + json(response.id).dump(-1, ' ', false, json::error_handler_t::replace);
  j += ",\"outputs\":[";
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const InferTensor& t = response.outputs[i];
    bool binary = request.binary_outputs;
    for (const auto& o : request.outputs)
      if (o.name == t.name) binary = o.binary || request.binary_outputs;
    if (i) j += ',';
    j += "{\"name\":" + json(t.name).dump() + ",\"datatype\":\"" + v2_name(t.datatype) +
         "\",\"shape\":";
    write_shape(&j, t.shape);
    if (binary) {
      j += ",\"parameters\":{\"binary_data_size\":" + std::to_string(t.data.size()) + "}}";
      out.binary += t.data;
    } else {
      j += ",\"data\":";
      write_data(&j, t);
      j += '}';
    }
  }
  j += "]}";
  return out;
}

std::string error_json(const std::string& message) {
  return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace cadre::serving::http

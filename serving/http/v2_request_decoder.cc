// Decoding V2 inference requests: a SAX pass over the JSON that bounds depth and
// element counts before storing anything, then the binary tensors.
#include <cstring>
#include <limits>

#include "serving/half_float.h"
#include "serving/http/v2_json.h"

namespace cadre::serving::http {
namespace {

using json = nlohmann::json;

// One JSON data value, kept until the input's datatype is known (it may come
// after "data" in the object) — 16 bytes, bounded by DecodeLimits.
struct Scalar {
  enum Kind : uint8_t { kInt, kUint, kFloat, kBool, kString } kind;
  union {
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    size_t string_index;
  };
  static Scalar of_int(int64_t v) {
    Scalar s{kInt, {}};
    s.i = v;
    return s;
  }
  static Scalar of_uint(uint64_t v) {
    Scalar s{kUint, {}};
    s.u = v;
    return s;
  }
  static Scalar of_float(double v) {
    Scalar s{kFloat, {}};
    s.d = v;
    return s;
  }
  static Scalar of_bool(bool v) {
    Scalar s{kBool, {}};
    s.b = v;
    return s;
  }
  static Scalar of_string(size_t index) {
    Scalar s{kString, {}};
    s.string_index = index;
    return s;
  }
};

struct PendingInput {
  InferTensor tensor;
  std::string datatype;
  bool has_shape = false, has_data = false, has_datatype = false;
  int64_t declared_elements = -1;  // from the shape, once known
  int64_t binary_size = -1;        // parameters.binary_data_size
  std::vector<Scalar> values;
  std::vector<std::string> strings;
};

// Where the decoder is; one frame per open object or array.
enum class Frame {
  kRequest,
  kRequestParams,
  kInputs,
  kInput,
  kInputParams,
  kShape,
  kData,
  kOutputs,
  kOutput,
  kOutputParams,
  kSkip,
};

class RequestDecoder : public nlohmann::json_sax<json> {
 public:
  RequestDecoder(const DecodeLimits& limits, InferRequest* out) : limits_(limits), out_(out) {}

  std::vector<PendingInput> inputs;
  std::string error;

  bool null() override { return scalar_error("null"); }
  bool boolean(bool v) override {
    switch (top()) {
      case Frame::kRequestParams:
        if (key_ == "binary_data_output") out_->binary_outputs = v;
        return true;
      case Frame::kOutputParams:
        if (key_ == "binary_data") out_->outputs.back().binary = v;
        if (key_ == "classification") return fail("outputs: classification is not supported");
        return true;
      case Frame::kData:
        return push_value(Scalar::of_bool(v));
      case Frame::kSkip:
      case Frame::kInputParams:
        return true;
      default:
        return scalar_error("a boolean");
    }
  }
  bool number_integer(number_integer_t v) override { return integer(v < 0, v, 0); }
  bool number_unsigned(number_unsigned_t v) override {
    return integer(false,
                   v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                       ? static_cast<int64_t>(v)
                       : 0,
                   v);
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (top() == Frame::kData) return push_value(Scalar::of_float(v));
    if (top() == Frame::kSkip || top() == Frame::kRequestParams || top() == Frame::kInputParams ||
        top() == Frame::kOutputParams)
      return true;
    return scalar_error("a fractional number");
  }
  bool string(string_t& v) override {
    switch (top()) {
      case Frame::kRequest:
        if (key_ == "id") {
          if (v.size() > limits_.max_id_bytes)
            return fail("id: longer than " + std::to_string(limits_.max_id_bytes) + " bytes");
          out_->id = std::move(v);
        }
        return true;
      case Frame::kInput:
        if (key_ == "name") inputs.back().tensor.name = std::move(v);
        if (key_ == "datatype") {
          inputs.back().datatype = std::move(v);
          inputs.back().has_datatype = true;
        }
        return true;
      case Frame::kOutput:
        if (key_ == "name") out_->outputs.back().name = std::move(v);
        return true;
      case Frame::kData: {
        PendingInput& in = inputs.back();
        Scalar s = Scalar::of_string(in.strings.size());
        in.strings.push_back(std::move(v));
        return push_value(s);
      }
      case Frame::kRequestParams:
      case Frame::kInputParams:
      case Frame::kOutputParams:
      case Frame::kSkip:
        return true;
      default:
        return scalar_error("a string");
    }
  }
  bool binary(binary_t&) override { return fail("binary JSON values are not accepted"); }

  bool start_object(std::size_t) override {
    Frame f = Frame::kSkip;
    if (stack_.empty()) {
      f = Frame::kRequest;
    } else if (top() == Frame::kRequest && key_ == "parameters") {
      f = Frame::kRequestParams;
    } else if (top() == Frame::kInputs) {
      if (static_cast<int>(inputs.size()) >= limits_.max_tensors)
        return fail("inputs: more than " + std::to_string(limits_.max_tensors));
      inputs.emplace_back();
      f = Frame::kInput;
    } else if (top() == Frame::kInput && key_ == "parameters") {
      f = Frame::kInputParams;
    } else if (top() == Frame::kOutputs) {
      if (static_cast<int>(out_->outputs.size()) >= limits_.max_tensors)
        return fail("outputs: more than " + std::to_string(limits_.max_tensors));
      out_->outputs.emplace_back();
      f = Frame::kOutput;
    } else if (top() == Frame::kOutput && key_ == "parameters") {
      f = Frame::kOutputParams;
    } else if (top() == Frame::kData) {
      return fail(where() + ".data: elements must be numbers, booleans or strings, not objects");
    }
    return push(f);
  }
  bool end_object() override { return pop(); }

  bool start_array(std::size_t) override {
    Frame f = Frame::kSkip;
    if (top() == Frame::kRequest && key_ == "inputs") {
      f = Frame::kInputs;
    } else if (top() == Frame::kRequest && key_ == "outputs") {
      f = Frame::kOutputs;
    } else if (top() == Frame::kInput && key_ == "shape") {
      inputs.back().has_shape = true;
      f = Frame::kShape;
    } else if (top() == Frame::kInput && key_ == "data") {
      inputs.back().has_data = true;
      f = Frame::kData;
    } else if (top() == Frame::kData) {
      f = Frame::kData;  // nested data: row-major order is the order of appearance
    } else if (top() == Frame::kShape) {
      return fail(where() + ".shape: must be a list of integers");
    }
    return push(f);
  }
  bool end_array() override {
    if (top() == Frame::kShape) {
      PendingInput& in = inputs.back();
      int64_t n = 1;
      for (int64_t d : in.tensor.shape) {
        if (d < 0 || (d != 0 && n > std::numeric_limits<int64_t>::max() / d)) {
          n = -1;
          break;
        }
        n *= d;
      }
      in.declared_elements = n;
      if (n >= 0 && static_cast<int64_t>(in.values.size()) > n) return too_many_values();
    }
    return pop();
  }

  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    if (error.empty())
      error = "malformed JSON at byte " + std::to_string(position) + ": " + e.what();
    return false;
  }

 private:
  Frame top() const { return stack_.empty() ? Frame::kSkip : stack_.back(); }
  bool push(Frame f) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth)
      return fail("JSON nesting deeper than " + std::to_string(limits_.max_depth));
    stack_.push_back(f);
    return true;
  }
  bool pop() {
    if (!stack_.empty()) stack_.pop_back();
    key_.clear();
    return true;
  }
  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  std::string where() const { return "inputs[" + std::to_string(inputs.size() - 1) + "]"; }
  bool scalar_error(const char* what) {
    switch (top()) {
      case Frame::kRequest:
        if (key_ == "id") return fail("id: must be a string, got " + std::string(what));
        return true;  // other keys of the request are not ours to judge
      case Frame::kInput:
        if (key_ == "name" || key_ == "datatype")
          return fail(where() + "." + key_ + ": must be a string, got " + what);
        if (key_ == "shape" || key_ == "data")
          return fail(where() + "." + key_ + ": must be a list, got " + what);
        return true;
      case Frame::kShape:
        return fail(where() + ".shape: dimensions must be integers, got " + std::string(what));
      case Frame::kData:
        return fail(where() + ".data: " + std::string(what) + " is not a tensor element");
      case Frame::kOutput:
        if (key_ == "name") return fail("outputs: name must be a string, got " + std::string(what));
        return true;
      case Frame::kInputs:
      case Frame::kOutputs:
        return fail("inputs and outputs must be lists of objects");
      default:
        return true;
    }
  }
  bool integer(bool negative, int64_t i, uint64_t u) {
    switch (top()) {
      case Frame::kShape: {
        PendingInput& in = inputs.back();
        if (static_cast<int>(in.tensor.shape.size()) >= limits_.max_rank)
          return fail(where() + ".shape: more than " + std::to_string(limits_.max_rank) +
                      " dimensions");
        if (!negative && u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return fail(where() + ".shape: dimension " + std::to_string(u) + " is too large");
        in.tensor.shape.push_back(i);
        return true;
      }
      case Frame::kData:
        if (negative) return push_value(Scalar::of_int(i));
        return push_value(Scalar::of_uint(u ? u : static_cast<uint64_t>(i)));
      case Frame::kRequestParams:
        if (key_ == "timeout") out_->timeout_us = negative ? 0 : (u ? u : i);
        return true;
      case Frame::kInputParams:
        if (key_ == "binary_data_size") {
          if (negative) return fail(where() + ".parameters.binary_data_size: must be >= 0");
          inputs.back().binary_size = static_cast<int64_t>(std::min<uint64_t>(
              u ? u : static_cast<uint64_t>(i), std::numeric_limits<int64_t>::max()));
        }
        return true;
      case Frame::kOutputParams:
        if (key_ == "classification") return fail("outputs: classification is not supported");
        return true;
      case Frame::kSkip:
        return true;
      default:
        return scalar_error("a number");
    }
  }
  bool push_value(const Scalar& s) {
    PendingInput& in = inputs.back();
    if (++json_elements_ > limits_.max_json_elements)
      return fail("more than " + std::to_string(limits_.max_json_elements) +
                  " JSON data elements in one request (send large tensors as binary data)");
    if (in.declared_elements >= 0 && static_cast<int64_t>(in.values.size()) >= in.declared_elements)
      return too_many_values();
    in.values.push_back(s);
    return true;
  }
  bool too_many_values() {
    const PendingInput& in = inputs.back();
    return fail("input '" + in.tensor.name + "': shape " + dims_string(in.tensor.shape) + " has " +
                std::to_string(in.declared_elements) + " elements, data has more");
  }

  const DecodeLimits& limits_;
  InferRequest* out_;
  std::vector<Frame> stack_;
  std::string key_;
  int64_t json_elements_ = 0;
};

template <typename T>
void append_raw(std::string* data, T v) {
  data->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Converts the collected values to `type`'s bytes, checking kinds and ranges.
Status convert_values(PendingInput& in, DataType type, const std::string& where) {
  std::string& data = in.tensor.data;
  if (type != DataType::kBytes) data.reserve(in.values.size() * element_size(type));
  auto bad = [&](size_t i, const char* why) {
    return InvalidArgument(where + ".data[" + std::to_string(i) + "]: " + why + " for " +
                           v2_name(type));
  };
  for (size_t i = 0; i < in.values.size(); ++i) {
    const Scalar& s = in.values[i];
    const bool is_int = s.kind == Scalar::kInt || s.kind == Scalar::kUint;
    const double as_double = s.kind == Scalar::kInt    ? static_cast<double>(s.i)
                             : s.kind == Scalar::kUint ? static_cast<double>(s.u)
                                                       : s.d;
    switch (type) {
      case DataType::kBool:
        if (s.kind != Scalar::kBool) return bad(i, "expected true or false");
        append_raw<uint8_t>(&data, s.b ? 1 : 0);
        break;
      case DataType::kFp32:
      case DataType::kFp64:
      case DataType::kFp16:
      case DataType::kBf16: {
        if (!is_int && s.kind != Scalar::kFloat) return bad(i, "expected a number");
        if (type == DataType::kFp64) {
          append_raw<double>(&data, as_double);
        } else if (type == DataType::kFp32) {
          append_raw<float>(&data, static_cast<float>(as_double));
        } else if (type == DataType::kFp16) {
          append_raw<uint16_t>(&data, float_to_half(static_cast<float>(as_double)));
        } else {
          append_raw<uint16_t>(&data, float_to_bf16(static_cast<float>(as_double)));
        }
        break;
      }
      case DataType::kBytes:
        if (s.kind != Scalar::kString) return bad(i, "expected a string");
        append_bytes_element(&data, in.strings[s.string_index]);
        break;
      default: {  // integer types
        if (!is_int) return bad(i, "expected an integer");
        const bool is_signed = type == DataType::kInt8 || type == DataType::kInt16 ||
                               type == DataType::kInt32 || type == DataType::kInt64;
        const size_t size = element_size(type);
        if (s.kind == Scalar::kInt && !is_signed) return bad(i, "negative value");
        if (is_signed) {
          const int64_t lo =
              size == 8 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (size * 8 - 1));
          const int64_t hi =
              size == 8 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (size * 8 - 1)) - 1;
          if (s.kind == Scalar::kUint &&
              s.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return bad(i, "value out of range");
          const int64_t v = s.kind == Scalar::kInt ? s.i : static_cast<int64_t>(s.u);
          if (v < lo || v > hi) return bad(i, "value out of range");
          data.append(reinterpret_cast<const char*>(&v), size);  // little-endian low bytes
        } else {
          const uint64_t v = s.u;
          if (size < 8 && v >= (uint64_t{1} << (size * 8))) return bad(i, "value out of range");
          data.append(reinterpret_cast<const char*>(&v), size);
        }
      }
    }
  }
  in.values.clear();
  in.values.shrink_to_fit();
  in.strings.clear();
  return Status::Ok();
}

}  // namespace

Result<InferRequest> decode_infer_request(std::string_view text, std::string_view binary,
                                          const DecodeLimits& limits) {
  InferRequest request;
  RequestDecoder decoder(limits, &request);
  const bool ok = json::sax_parse(text.begin(), text.end(), &decoder, json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok || !decoder.error.empty())
    return InvalidArgument(decoder.error.empty() ? "malformed JSON" : decoder.error);
  if (decoder.inputs.empty()) return InvalidArgument("inputs: the request has no inputs");

  size_t binary_at = 0;
  for (size_t k = 0; k < decoder.inputs.size(); ++k) {
    PendingInput& in = decoder.inputs[k];
    const std::string where = "inputs[" + std::to_string(k) + "]";
    if (in.tensor.name.empty()) return InvalidArgument(where + ".name: missing");
    if (!in.has_datatype) return InvalidArgument(where + ".datatype: missing");
    if (!in.has_shape) return InvalidArgument(where + ".shape: missing");
    auto type = parse_v2_datatype(in.datatype);
    if (!type.ok()) return InvalidArgument(where + ".datatype: " + type.status().message());
    in.tensor.datatype = *type;
    for (size_t d = 0; d < in.tensor.shape.size(); ++d)
      if (in.tensor.shape[d] < 0)
        return InvalidArgument("input '" + in.tensor.name + "': shape " +
                               dims_string(in.tensor.shape) + " has negative dimension " +
                               std::to_string(in.tensor.shape[d]));
    if (in.binary_size >= 0) {
      if (in.has_data)
        return InvalidArgument(where + ": has both data and parameters.binary_data_size");
      if (static_cast<uint64_t>(in.binary_size) > binary.size() - binary_at)
        return InvalidArgument(where + ": binary_data_size " + std::to_string(in.binary_size) +
                               " runs past the " + std::to_string(binary.size() - binary_at) +
                               " bytes of binary data left");
      in.tensor.data.assign(binary.substr(binary_at, static_cast<size_t>(in.binary_size)));
      binary_at += static_cast<size_t>(in.binary_size);
    } else {
      if (!in.has_data) return InvalidArgument(where + ".data: missing");
      if (in.declared_elements < 0 && !in.tensor.shape.empty())
        return InvalidArgument("input '" + in.tensor.name + "': shape " +
                               dims_string(in.tensor.shape) + " has too many elements");
      if (static_cast<int64_t>(in.values.size()) != in.declared_elements)
        return InvalidArgument("input '" + in.tensor.name + "': shape " +
                               dims_string(in.tensor.shape) + " has " +
                               std::to_string(in.declared_elements) + " elements, data has " +
                               std::to_string(in.values.size()));
      RETURN_IF_ERROR(convert_values(in, *type, where));
    }
    request.inputs.push_back(std::move(in.tensor));
  }
  if (binary_at != binary.size())
    return InvalidArgument("the request carries " + std::to_string(binary.size() - binary_at) +
                           " bytes of binary data that no input claims");
  for (size_t k = 0; k < request.outputs.size(); ++k)
    if (request.outputs[k].name.empty())
      return InvalidArgument("outputs[" + std::to_string(k) + "].name: missing");
  return request;
}

}  // namespace cadre::serving::http

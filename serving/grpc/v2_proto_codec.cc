#include "serving/grpc/v2_proto_codec.h"

#include <charconv>

namespace cadre::serving::grpc_frontend {
namespace {

namespace pb = ::inference;

template <typename T, typename Field>
void append_values(std::string* data, const Field& values) {
  data->reserve(values.size() * sizeof(T));
  for (const auto& v : values) {
    const T x = static_cast<T>(v);
    data->append(reinterpret_cast<const char*>(&x), sizeof(T));
  }
}

// Typed contents to raw bytes; the field must be the one V2 names for the type.
Status typed_contents(const pb::InferTensorContents& c, DataType type, InferTensor* t) {
  const auto wrong = [&](const char* field) {
    return InvalidArgument("input '" + t->name + "': " + v2_name(type) + " data goes in " + field +
                           " (or raw_input_contents)");
  };
  size_t given = c.bool_contents_size() + c.int_contents_size() + c.int64_contents_size() +
                 c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() +
                 c.fp64_contents_size() + c.bytes_contents_size();
  size_t used = 0;
  switch (type) {
    case DataType::kBool:
      used = c.bool_contents_size();
      append_values<uint8_t>(&t->data, c.bool_contents());
      if (used != given) return wrong("bool_contents");
      break;
    case DataType::kInt8:
      used = c.int_contents_size();
      append_values<int8_t>(&t->data, c.int_contents());
      break;
    case DataType::kInt16:
      used = c.int_contents_size();
      append_values<int16_t>(&t->data, c.int_contents());
      break;
    case DataType::kInt32:
      used = c.int_contents_size();
      append_values<int32_t>(&t->data, c.int_contents());
      break;
    case DataType::kInt64:
      used = c.int64_contents_size();
      append_values<int64_t>(&t->data, c.int64_contents());
      break;
    case DataType::kUint8:
      used = c.uint_contents_size();
      append_values<uint8_t>(&t->data, c.uint_contents());
      break;
    case DataType::kUint16:
      used = c.uint_contents_size();
      append_values<uint16_t>(&t->data, c.uint_contents());
      break;
    case DataType::kUint32:
      used = c.uint_contents_size();
      append_values<uint32_t>(&t->data, c.uint_contents());
      break;
    case DataType::kUint64:
      used = c.uint64_contents_size();
      append_values<uint64_t>(&t->data, c.uint64_contents());
      break;
    case DataType::kFp32:
      used = c.fp32_contents_size();
      append_values<float>(&t->data, c.fp32_contents());
      break;
    case DataType::kFp64:
      used = c.fp64_contents_size();
      append_values<double>(&t->data, c.fp64_contents());
      break;
    case DataType::kBytes:
      used = c.bytes_contents_size();
      for (const auto& b : c.bytes_contents()) append_bytes_element(&t->data, b);
      break;
    default:
      return InvalidArgument("input '" + t->name + "': " + v2_name(type) +
                             " data must be sent as raw_input_contents");
  }
  if (used != given)
    return InvalidArgument("input '" + t->name + "': contents of another type than " +
                           v2_name(type));
  return Status::Ok();
}

}  // namespace

Result<int64_t> parse_version(const std::string& text) {
  if (text.empty()) return int64_t{0};
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    return InvalidArgument("model_version '" + text.substr(0, 32) + "' is not a positive integer");
  return v;
}

Result<std::shared_ptr<InferRequest>> from_proto(const pb::ModelInferRequest& in) {
  auto r = std::make_shared<InferRequest>();
  r->model = in.model_name();
  ASSIGN_OR_RETURN(r->version, parse_version(in.model_version()));
  r->id = in.id().substr(0, 1024);
  auto timeout = in.parameters().find("timeout");
  if (timeout != in.parameters().end() && timeout->second.int64_param() > 0)
    r->timeout_us = static_cast<uint64_t>(timeout->second.int64_param());
  const bool raw = in.raw_input_contents_size() > 0;
  if (raw && in.raw_input_contents_size() != in.inputs_size())
    return InvalidArgument("raw_input_contents has " +
                           std::to_string(in.raw_input_contents_size()) + " entries for " +
                           std::to_string(in.inputs_size()) + " inputs");
  for (int i = 0; i < in.inputs_size(); ++i) {
    const auto& t = in.inputs(i);
    InferTensor tensor;
    tensor.name = t.name();
    auto type = parse_v2_datatype(t.datatype());
    if (!type.ok()) return InvalidArgument("input '" + t.name() + "': " + type.status().message());
    tensor.datatype = *type;
    if (t.shape_size() > 16)
      return InvalidArgument("input '" + t.name() + "': more than 16 dimensions");
    tensor.shape.assign(t.shape().begin(), t.shape().end());
    if (raw) {
      if (t.has_contents())
        return InvalidArgument("input '" + t.name() +
                               "': contents and raw_input_contents must not both be set");
      tensor.data = in.raw_input_contents(i);
    } else {
      RETURN_IF_ERROR(typed_contents(t.contents(), *type, &tensor));
    }
    r->inputs.push_back(std::move(tensor));
  }
  for (const auto& o : in.outputs()) r->outputs.push_back({o.name(), false});
  return r;
}

void to_proto(InferResponse& r, pb::ModelInferResponse* out) {
  out->set_model_name(r.model);
  out->set_model_version(std::to_string(r.version));
  out->set_id(r.id);
  for (auto& t : r.outputs) {
    auto* o = out->add_outputs();
    o->set_name(t.name);
    o->set_datatype(v2_name(t.datatype));
    for (int64_t d : t.shape) o->add_shape(d);
    *out->add_raw_output_contents() = std::move(t.data);
  }
}

}  // namespace cadre::serving::grpc_frontend

#include "ingress/grpc_translation.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "protocol/spec/yaml_reader.h"
#include "serving/grpc/v2_proto_codec.h"

namespace cadre::ingress {
namespace {

namespace pb = ::inference;
using json = nlohmann::json;
using serving::http::HttpRequest;
using serving::http::HttpResponse;

std::string model_path(const std::string& name, int64_t version) {
  std::string path = "/v2/models/" + name;
  if (version > 0) path += "/versions/" + std::to_string(version);
  return path;
}

Status check_name(const std::string& name) {
  if (name.empty()) return InvalidArgument("model_name is empty: name the inferenceservice");
  if (!valid_model_name(name)) {
    return InvalidArgument("model_name " + spec::quote_value(name) +
                           " is not an inferenceservice name (lower-case letters, digits and "
                           "'-', at most 63)");
  }
  return Status::Ok();
}

// The error body's message, or the status line's meaning when there is none.
std::string error_message(const HttpResponse& response) {
  try {
    const json body = json::parse(response.body);
    if (body.is_object() && body.contains("error") && body["error"].is_string()) {
      return body["error"].get<std::string>();
    }
  } catch (const json::exception&) {
  }
  if (response.status == 503) return "not ready";
  return "the replica answered HTTP " + std::to_string(response.status);
}

// The JSON header's length: the Inference-Header-Content-Length the answer
// carries, or the whole body when it has none (no binary part).
Result<size_t> header_length(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name != "Inference-Header-Content-Length") continue;
    size_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n > response.body.size()) {
      return DataLoss("the replica's Inference-Header-Content-Length " + spec::quote_value(value) +
                      " does not fit its " + std::to_string(response.body.size()) + "-byte answer");
    }
    return n;
  }
  return response.body.size();
}

Result<json> parse_object(std::string_view text, const char* what) {
  try {
    json j = json::parse(text);
    if (j.is_object()) return j;
  } catch (const json::exception&) {
  }
  return DataLoss(std::string("the replica's ") + what + " is not a JSON object");
}

// A tensor's metadata entries: name, datatype, shape (-1: any size).
Status fill_tensors(
    const json& list, const char* field,
    google::protobuf::RepeatedPtrField<pb::ModelMetadataResponse::TensorMetadata>* out) {
  if (list.is_null()) return Status::Ok();
  if (!list.is_array()) return DataLoss(std::string("metadata ") + field + " is not a list");
  for (const auto& t : list) {
    if (!t.is_object() || !t.value("name", json()).is_string() ||
        !t.value("datatype", json()).is_string() || !t.value("shape", json()).is_array()) {
      return DataLoss(std::string("metadata ") + field +
                      " has an entry without name, datatype or shape");
    }
    auto* m = out->Add();
    m->set_name(t["name"].get<std::string>());
    m->set_datatype(t["datatype"].get<std::string>());
    for (const auto& d : t["shape"]) {
      if (!d.is_number_integer())
        return DataLoss(std::string("metadata ") + field + " shape is not integers");
      m->add_shape(d.get<int64_t>());
    }
  }
  return Status::Ok();
}

}  // namespace

bool valid_model_name(const std::string& name) { return spec::is_dns_label(name); }

Result<HttpRequest> infer_http_request(const pb::ModelInferRequest& in) {
  RETURN_IF_ERROR(check_name(in.model_name()));
  ASSIGN_OR_RETURN(auto request, serving::grpc_frontend::from_proto(in));
  // The header: every input's bytes follow it in order, every output comes back
  // binary (a gRPC answer carries raw contents anyway).
  json header = json::object();
  if (!request->id.empty()) header["id"] = request->id;
  header["parameters"] = {{"binary_data_output", true}};
  if (request->timeout_us > 0) header["parameters"]["timeout"] = request->timeout_us;
  header["inputs"] = json::array();
  size_t binary_bytes = 0;
  for (const auto& t : request->inputs) {
    header["inputs"].push_back({{"name", t.name},
                                {"datatype", serving::v2_name(t.datatype)},
                                {"shape", t.shape},
                                {"parameters", {{"binary_data_size", t.data.size()}}}});
    binary_bytes += t.data.size();
  }
  if (!request->outputs.empty()) {
    header["outputs"] = json::array();
    for (const auto& o : request->outputs) {
      header["outputs"].push_back({{"name", o.name}, {"parameters", {{"binary_data", true}}}});
    }
  }
  HttpRequest http;
  http.method = "POST";
  http.target = model_path(request->model, request->version) + "/infer";
  http.content_type = "application/octet-stream";
  // Names and ids come from the caller: invalid UTF-8 is replaced, not thrown.
  http.body = header.dump(-1, ' ', false, json::error_handler_t::replace);
  http.inference_header_content_length = std::to_string(http.body.size());
  http.body.reserve(http.body.size() + binary_bytes);
  for (const auto& t : request->inputs) http.body += t.data;
  return http;
}

Result<HttpRequest> model_http_request(const std::string& name, const std::string& version,
                                       bool ready) {
  RETURN_IF_ERROR(check_name(name));
  ASSIGN_OR_RETURN(int64_t v, serving::grpc_frontend::parse_version(version));
  HttpRequest http;
  http.method = "GET";
  http.target = model_path(name, v) + (ready ? "/ready" : "");
  return http;
}

Status parse_infer_http_response(const HttpResponse& response, pb::ModelInferResponse* out) {
  ASSIGN_OR_RETURN(size_t header_bytes, header_length(response));
  const std::string_view body(response.body);
  ASSIGN_OR_RETURN(json header, parse_object(body.substr(0, header_bytes), "infer answer"));
  const std::string_view binary = body.substr(header_bytes);
  if (header.contains("model_name") && header["model_name"].is_string())
    out->set_model_name(header["model_name"].get<std::string>());
  if (header.contains("model_version") && header["model_version"].is_string())
    out->set_model_version(header["model_version"].get<std::string>());
  if (header.contains("id") && header["id"].is_string())
    out->set_id(header["id"].get<std::string>());
  const json outputs = header.value("outputs", json::array());
  if (!outputs.is_array()) return DataLoss("the replica's outputs are not a list");
  size_t at = 0;
  for (const auto& o : outputs) {
    if (!o.is_object() || !o.value("name", json()).is_string() ||
        !o.value("datatype", json()).is_string() || !o.value("shape", json()).is_array()) {
      return DataLoss("the replica answered an output without name, datatype or shape");
    }
    const std::string name = o["name"].get<std::string>();
    const json parameters = o.value("parameters", json::object());
    const json size =
        parameters.is_object() ? parameters.value("binary_data_size", json()) : json();
    if (!size.is_number_unsigned()) {
      return DataLoss("the replica answered output '" + name + "' without binary data");
    }
    const auto bytes = size.get<uint64_t>();
    if (bytes > binary.size() - at) {
      return DataLoss("output '" + name + "' claims " + std::to_string(bytes) + " bytes where " +
                      std::to_string(binary.size() - at) + " are left");
    }
    auto* t = out->add_outputs();
    t->set_name(name);
    t->set_datatype(o["datatype"].get<std::string>());
    for (const auto& d : o["shape"]) {
      if (!d.is_number_integer())
        return DataLoss("output '" + name + "' has a shape of non-integers");
      t->add_shape(d.get<int64_t>());
    }
    out->add_raw_output_contents()->assign(binary.substr(at, bytes));
    at += bytes;
  }
  if (at != binary.size()) {
    return DataLoss("the replica's answer has " + std::to_string(binary.size() - at) +
                    " bytes that no output claims");
  }
  return Status::Ok();
}

Status parse_metadata_http_response(const HttpResponse& response, pb::ModelMetadataResponse* out) {
  ASSIGN_OR_RETURN(json md, parse_object(response.body, "model metadata"));
  if (!md.value("name", json()).is_string()) return DataLoss("model metadata has no name");
  out->set_name(md["name"].get<std::string>());
  if (md.value("platform", json()).is_string())
    out->set_platform(md["platform"].get<std::string>());
  const json versions = md.value("versions", json::array());
  if (!versions.is_array()) return DataLoss("model metadata versions are not a list");
  for (const auto& v : versions) {
    if (!v.is_string()) return DataLoss("model metadata versions are not strings");
    out->add_versions(v.get<std::string>());
  }
  RETURN_IF_ERROR(fill_tensors(md.value("inputs", json()), "inputs", out->mutable_inputs()));
  return fill_tensors(md.value("outputs", json()), "outputs", out->mutable_outputs());
}

CallError call_error(const HttpResponse& response) {
  CallError e;
  e.message = error_message(response);
  switch (response.status) {
    case 400:
      e.code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case 401:
      e.code = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case 403:
      e.code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case 404:
      e.code = grpc::StatusCode::NOT_FOUND;
      break;
    case 413:
    case 429:
      e.code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case 502:
    case 503:
      e.code = grpc::StatusCode::UNAVAILABLE;
      break;
    case 504:
      e.code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    default:
      e.code = response.status >= 500 ? grpc::StatusCode::INTERNAL : grpc::StatusCode::UNKNOWN;
  }
  return e;
}

}  // namespace cadre::ingress

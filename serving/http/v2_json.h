// The Open Inference Protocol's JSON over HTTP, with Triton's binary tensor
// extension: request decoding (a streaming SAX decoder that bounds depth, element
// counts and sizes before it allocates) and response encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/status.h"
#include "serving/infer_request.h"

namespace cadre::serving::http {

struct DecodeLimits {
  int max_depth = 100;                  // JSON nesting
  int64_t max_json_elements = 1 << 22;  // data values in JSON, over all inputs
  int max_rank = 16;                    // dimensions per shape
  int max_tensors = 256;                // inputs, and requested outputs
  size_t max_id_bytes = 1024;           // the request id
};

// Decodes an infer request: `json` is the JSON part, `binary` what followed it
// (the binary extension's tensors, in input order). The model and version come
// from the URL. Errors are InvalidArgument and say what was wrong where.
Result<InferRequest> decode_infer_request(std::string_view json, std::string_view binary,
                                          const DecodeLimits& limits);

struct EncodedResponse {
  std::string json;    // the JSON header
  std::string binary;  // binary outputs, in output order (empty if none)
};
EncodedResponse encode_infer_response(const InferResponse& response, const InferRequest& request);

// {"error": "..."} — the V2 error body.
std::string error_json(const std::string& message);

}  // namespace cadre::serving::http

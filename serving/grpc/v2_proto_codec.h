// The Open Inference Protocol's gRPC messages to and from the server core's
// InferRequest and InferResponse: typed contents and raw contents both become raw
// little-endian bytes; errors are InvalidArgument and name the input. Used by
// cadre-serve's gRPC front end and by the ingress, which carries gRPC calls to
// replicas over HTTP's binary extension. Only protobuf's message headers here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "protocol/status.h"
#include "serving/grpc/grpc_predict_v2.pb.h"
#include "serving/infer_request.h"

namespace cadre::serving::grpc_frontend {

// "" -> 0 (the highest ready version); otherwise a positive integer.
Result<int64_t> parse_version(const std::string& text);

Result<std::shared_ptr<InferRequest>> from_proto(const ::inference::ModelInferRequest& in);

// Moves the outputs' bytes into raw_output_contents.
void to_proto(InferResponse& response, ::inference::ModelInferResponse* out);

}  // namespace cadre::serving::grpc_frontend

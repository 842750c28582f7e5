// How the ingress carries the Open Inference Protocol's gRPC calls to replicas:
// as the same V2 HTTP requests its HTTP front door sends, so one path (tokens,
// canary weights, least outstanding requests, holding at zero replicas, retries,
// metrics) serves both. ModelInfer travels with Triton's binary tensor extension:
// every input's bytes (raw contents, or typed contents laid out as raw) follow a
// small JSON header, and every output comes back binary, so no tensor is ever
// written as JSON text. Only protobuf's message headers here (no gRPC runtime).
#pragma once

#include <grpcpp/support/status_code_enum.h>

#include <string>

#include "protocol/status.h"
#include "serving/grpc/grpc_predict_v2.pb.h"
#include "serving/http/http_server.h"

namespace cadre::ingress {

// The request the proxy sends for a ModelInfer call (the caller's token added
// by the caller). InvalidArgument names what was wrong: an empty or malformed
// model name or version, contents that do not match their inputs.
Result<serving::http::HttpRequest> infer_http_request(const ::inference::ModelInferRequest& in);

// GET /v2/models/<name>[/versions/<v>][/ready] for ModelMetadata and ModelReady.
Result<serving::http::HttpRequest> model_http_request(const std::string& name,
                                                      const std::string& version, bool ready);

// A replica's (or the proxy's) 200 answer to infer_http_request, as the gRPC
// response: binary outputs become raw_output_contents. DataLoss when the answer
// is not what cadre-serve writes (a header past the body, sizes that do not add
// up, JSON that is not an infer response).
Status parse_infer_http_response(const serving::http::HttpResponse& response,
                                 ::inference::ModelInferResponse* out);

// A 200 answer to GET /v2/models/<name> as ModelMetadataResponse.
Status parse_metadata_http_response(const serving::http::HttpResponse& response,
                                    ::inference::ModelMetadataResponse* out);

// A status that is not 200 as the gRPC status a client of the protocol expects
// (as Triton maps them), with the message from the V2 error body.
struct CallError {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
};
CallError call_error(const serving::http::HttpResponse& response);

// The proto's model name as a path segment: what the HTTP front door would route.
bool valid_model_name(const std::string& name);

}  // namespace cadre::ingress

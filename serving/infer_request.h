// One inference request and its response as every front end (HTTP JSON, HTTP
// binary, gRPC) hands them to the server core, whatever the wire looked like.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "serving/infer_tensor.h"

namespace cadre::serving {

using Clock = std::chrono::steady_clock;

struct RequestedOutput {
  std::string name;
  bool binary = false;  // HTTP: send as binary data after the JSON header
};

struct InferRequest {
  std::string model;
  int64_t version = 0;  // 0: the highest ready version
  std::string id;       // echoed in the response
  std::vector<InferTensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output of the model
  bool binary_outputs = false;           // HTTP "binary_data_output": all outputs binary
  uint64_t timeout_us = 0;  // "timeout" parameter; honoured where the queue policy allows
  Clock::time_point received = Clock::now();
};

struct InferResponse {
  std::string model;
  int64_t version = 0;
  std::string id;
  std::vector<InferTensor> outputs;
};

// Receives the response (or the error) exactly once, on a server thread; it must
// not block.
using InferCallback = std::function<void(Result<InferResponse>)>;

}  // namespace cadre::serving

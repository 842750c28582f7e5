// The Open Inference Protocol over gRPC (service inference.GRPCInferenceService,
// serving/grpc/grpc_predict_v2.proto) on gRPC's callback API: ModelInfer hands the
// request to the InferenceServer and finishes the call from the batcher's
// completion, so no thread waits per in-flight request. gRPC's headers stay in
// grpc_server.cc.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "protocol/status.h"
#include "serving/inference_server.h"

namespace cadre::serving::grpc_frontend {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 8001;  // 0: any free port
  size_t max_message_bytes = 64u << 20;
  int max_concurrent_streams = 1024;  // per connection
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds max_connection_idle{300000};
  std::string server_version;
  // When set, every call but ServerLive and ServerReady must carry the metadata
  // `authorization: Bearer <token>` (gRPC has read the message, bounded by
  // max_message_bytes, before a handler can look; nothing else happens first).
  std::string bearer_token;
};

class GrpcServer {
 public:
  static Result<std::unique_ptr<GrpcServer>> Create(const GrpcServerOptions& options,
                                                    InferenceServer* server);
  ~GrpcServer();
  int port() const;
  // Finishes in-flight calls (up to `deadline`), refuses new ones.
  void shutdown(std::chrono::milliseconds deadline);

  class Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The gRPC status code number (grpc::StatusCode) a Status maps to, as Triton maps.
int grpc_code(const Status& status);

}  // namespace cadre::serving::grpc_frontend

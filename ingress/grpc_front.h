// The ingress's gRPC port: the Open Inference Protocol's GRPCInferenceService for
// every inference service, routed by the request's model_name. A call is carried
// to a replica as the V2 HTTP request the HTTP front door would send
// (grpc_translation.h) through the same Proxy, so tokens (metadata
// `authorization: Bearer <token>`), canary weights, balancing, holding at zero
// replicas and metrics are one implementation. ServerLive and ServerReady answer
// for the ingress itself; the model repository extension is not offered (models
// change with `cadre apply`). TLS with the front door's certificate when set.
// gRPC's headers stay in grpc_front.cc.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "ingress/proxy.h"
#include "ingress/route_table.h"
#include "protocol/status.h"

namespace cadre::ingress {

struct GrpcFrontOptions {
  std::string host = "127.0.0.1";
  int port = 8081;  // 0: any free port
  // TLS when both are set (PEM files, as the HTTP front door's).
  std::string tls_cert_file;
  std::string tls_key_file;
  size_t max_message_bytes = 64u << 20;  // a request or an answer
  int max_concurrent_streams = 1024;     // per connection
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds max_connection_idle{300000};
  std::string server_version;
};

class GrpcFront {
 public:
  // Unavailable when the port cannot be bound; InvalidArgument naming the file
  // when a TLS file cannot be read.
  static Result<std::unique_ptr<GrpcFront>> Create(const GrpcFrontOptions& options, Proxy& proxy,
                                                   const RouteTable& table);
  ~GrpcFront();
  int port() const;
  // Finishes calls in flight (up to `deadline`), refuses new ones.
  void shutdown(std::chrono::milliseconds deadline);

  class Impl;

 private:
  explicit GrpcFront(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cadre::ingress

// The limits every gRPC listener of Cadre's sets (cadre-serve's and the ingress's):
// a message's size, streams per connection, the handshake's time and an idle
// connection's, so no peer holds memory or a connection without bound.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>

namespace cadre::serving::grpc_frontend {

struct GrpcServerBounds {
  size_t max_message_bytes = 64u << 20;
  int max_concurrent_streams = 1024;  // per connection
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds max_connection_idle{300000};
};

inline void apply_server_bounds(const GrpcServerBounds& bounds, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(static_cast<int>(bounds.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(bounds.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, bounds.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(bounds.handshake_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(bounds.max_connection_idle.count()));
}

}  // namespace cadre::serving::grpc_frontend

#include "agent/coordinator_link.h"

#include "protocol/curve_keys.h"

namespace cadre::agent {

Result<std::unique_ptr<CoordinatorLink>> CoordinatorLink::Create(
    const CoordinatorLinkOptions& options) {
  std::unique_ptr<CoordinatorLink> link(new CoordinatorLink());
  RETURN_IF_ERROR(
      ZMQ_CHECK(link->socket_ = zmq::socket_t(link->context_, zmq::socket_type::dealer)));
  zmq::socket_t& socket = link->socket_;
  RETURN_IF_ERROR(ZMQ_CHECK({
    socket.set(zmq::sockopt::maxmsgsize, options.max_message_bytes);
    // Unsent messages are resent after a restart anyway; do not hold exit on them.
    socket.set(zmq::sockopt::linger, 500);
    socket.set(zmq::sockopt::sndtimeo, 0);
    // ZMTP heartbeats notice a coordinator that vanished without closing TCP
    // (host down, partition) and make ZeroMQ reconnect.
    socket.set(zmq::sockopt::heartbeat_ivl, 1000);
    socket.set(zmq::sockopt::heartbeat_timeout, 5000);
  }));
  if (!options.insecure) {
    auto own = protocol::read_keypair(options.key_file);
    if (!own.ok()) return own.status().annotate("--key");
    auto server = protocol::read_public_key(options.server_key_file);
    if (!server.ok()) return server.status().annotate("--server-key");
    RETURN_IF_ERROR(protocol::make_curve_client(socket, *own, *server));
  }
  // A message larger than the ceiling cannot arrive (ZMQ_MAXMSGSIZE drops it), so
  // decoding never needs to allow more.
  link->limits_.max_string_bytes = static_cast<size_t>(options.max_message_bytes);
  RETURN_IF_ERROR(ZMQ_CHECK(socket.connect(options.endpoint)));
  return link;
}

}  // namespace cadre::agent

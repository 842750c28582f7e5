#include "agent/coordinator_link.h"

#include <cstring>

#include "protocol/checks.h"
#include "protocol/curve_keys.h"

namespace cadre::agent {

Result<std::unique_ptr<CoordinatorLink>> CoordinatorLink::Create(
    const CoordinatorLinkOptions& options) {
  std::unique_ptr<CoordinatorLink> link(new CoordinatorLink(options));
  if (!options.insecure) {
    auto own = protocol::read_keypair(options.key_file);
    if (!own.ok()) return own.status().annotate("--key");
    auto server = protocol::read_public_key(options.server_key_file);
    if (!server.ok()) return server.status().annotate("--server-key");
    link->own_keys_ = *own;
    link->server_key_ = *server;
  }
  // A message larger than the ceiling cannot arrive (ZMQ_MAXMSGSIZE drops it), so
  // decoding never needs to allow more.
  link->limits_.max_string_bytes = static_cast<size_t>(options.max_message_bytes);
  RETURN_IF_ERROR(link->open());
  return link;
}

Status CoordinatorLink::open() {
  RETURN_IF_ERROR(ZMQ_STATUS(socket_ = zmq::socket_t(context_, zmq::socket_type::dealer)));
  zmq::socket_t& socket = socket_;
  ZMQCHECK({
    socket.set(zmq::sockopt::maxmsgsize, options_.max_message_bytes);
    // Unsent messages are resent after a restart anyway; do not hold exit on them.
    socket.set(zmq::sockopt::linger, 500);
    socket.set(zmq::sockopt::sndtimeo, 0);
    // ZMTP heartbeats notice a coordinator that vanished without closing TCP
    // (host down, partition) and make ZeroMQ reconnect.
    socket.set(zmq::sockopt::heartbeat_ivl, 1000);
    socket.set(zmq::sockopt::heartbeat_timeout, 5000);
    // Retry quickly at first (a restarting coordinator is back within seconds),
    // backing off to 2 s so a refused key does not hammer the coordinator.
    socket.set(zmq::sockopt::reconnect_ivl, 100);
    socket.set(zmq::sockopt::reconnect_ivl_max, 2000);
  });
  if (!options_.insecure) {
    RETURN_IF_ERROR(protocol::make_curve_client(socket, own_keys_, server_key_));
  }
  // The monitor must be attached before connect so the first handshake is seen.
  // inproc names are per context, and each link owns its context; each socket of
  // the link gets its own name.
  const std::string monitor_endpoint =
      "inproc://coordinator-link-monitor-" + std::to_string(++incarnation_);
  if (zmq_socket_monitor(socket.handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
    return Internal(std::string("zmq_socket_monitor failed: ") + zmq_strerror(zmq_errno()));
  }
  ZMQCHECK({
    monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_endpoint);
  });
  connected_ = false;
  ZMQCHECK(socket.connect(options_.endpoint));
  return Status::Ok();
}

void CoordinatorLink::close() {
  // The monitored socket writes its events into a PAIR socket from ZeroMQ's I/O
  // thread, and a PAIR with no reader blocks that write. A socket closed with its
  // monitor still on can emit one more event while it lingers (an agent thawed
  // after its coordinator restarted: the old socket reconnects, then closes) and
  // so stall the one I/O thread, with every later message of the new socket
  // behind it. Stopping the monitor first closes the PAIR inside the socket.
  if (socket_.handle() != nullptr) zmq_socket_monitor(socket_.handle(), nullptr, 0);
  monitor_.close();
  socket_.close();
}

std::vector<LinkEvent> CoordinatorLink::events() {
  std::vector<LinkEvent> out;
  bool reopen = false;
  while (!reopen) {
    // Each event is two frames: [uint16 event, uint32 value] and the endpoint.
    zmq::message_t head, address;
    try {
      if (!monitor_.recv(head, zmq::recv_flags::dontwait)) break;
      if (head.more()) (void)monitor_.recv(address, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      break;
    }
    if (head.size() < 6) continue;
    uint16_t event = 0;
    uint32_t value = 0;
    std::memcpy(&event, head.data(), sizeof(event));
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, sizeof(value));
    switch (event) {
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        connected_ = true;
        out.push_back({LinkEvent::Kind::kConnected, ""});
        break;
      case ZMQ_EVENT_DISCONNECTED:
        if (connected_) {
          out.push_back({LinkEvent::Kind::kDisconnected, ""});
          reopen = true;
        }
        connected_ = false;
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        out.push_back({LinkEvent::Kind::kHandshakeFailed,
                       "the coordinator refused this agent's key (ZAP status " +
                           std::to_string(value) +
                           "); is its .pub in the coordinator's agent allowlist?"});
        break;
      default:
        out.push_back({LinkEvent::Kind::kHandshakeFailed,
                       "CURVE handshake failed (event " + std::to_string(event) + ", value " +
                           std::to_string(value) +
                           "); do --server-key and the coordinator's key match?"});
    }
  }
  if (reopen) {
    // The old socket may never reconnect (see the header); a new one does.
    close();
    const Status opened = open();
    if (!opened.ok()) {
      out.push_back({LinkEvent::Kind::kHandshakeFailed, "reconnecting: " + opened.message()});
    }
  }
  return out;
}

}  // namespace cadre::agent

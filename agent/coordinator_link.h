// The agent's connection to the coordinator: one ZeroMQ DEALER socket, CURVE
// unless explicitly insecure, speaking protocol/ framing.
//
// ZeroMQ reconnects on its own after a connection error, but not after a protocol
// error: a message over ZMQ_MAXMSGSIZE ends the session for good and the socket
// stays silent. So on every disconnect the link replaces the socket with a fresh
// one (the agent then registers again); that covers both. A socket monitor tells
// the link when a session with the coordinator is up (the CURVE handshake
// succeeded) or gone, so the agent does not pile Registers and heartbeats into the
// queue of a dead connection, and a refused key is reported instead of retried in
// silence. Sends never block
// (ZMQ_SNDTIMEO 0): when the queue toward an unreachable coordinator is full the
// message is dropped, which the agent's resend timers make safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "protocol/codec.h"
#include "protocol/curve_keys.h"
#include "protocol/framing.h"
#include "protocol/limits.h"
#include "protocol/status.h"

namespace cadre::agent {

struct CoordinatorLinkOptions {
  std::string endpoint;         // tcp://host:port of the coordinator's agent socket
  bool insecure = false;        // true: no CURVE
  std::string key_file;         // this agent's .key (CURVE)
  std::string server_key_file;  // the coordinator's .pub (CURVE)
  int64_t max_message_bytes = protocol::kDefaultMaxMessageBytes;
};

// A change of the connection seen by the socket monitor.
struct LinkEvent {
  enum class Kind { kConnected, kDisconnected, kHandshakeFailed } kind;
  std::string detail;  // for kHandshakeFailed: why, in words
};

class CoordinatorLink {
 public:
  static Result<std::unique_ptr<CoordinatorLink>> Create(const CoordinatorLinkOptions& options);
  ~CoordinatorLink() { close(); }

  // Sends [header][body] with a fresh id; returns that id.
  template <typename T>
  Result<uint64_t> send(protocol::MessageKind kind, const T& body, uint64_t epoch,
                        uint64_t reply_to = 0) {
    protocol::Header header;
    header.kind = kind;
    header.id = ++last_id_;
    header.reply_to = reply_to;
    header.epoch = epoch;
    RETURN_IF_ERROR(protocol::send_envelope(socket_, "", false, header, protocol::encode(body)));
    return header.id;
  }

  // The next waiting message; Unavailable when none is waiting, InvalidArgument
  // for a malformed one (already drained from the socket).
  Result<protocol::Envelope> receive() { return protocol::recv_envelope(socket_, false, limits_); }

  // Connection changes since the last call (never blocks). After a disconnect the
  // socket (and monitor) are new ones: take socket()/monitor() again.
  std::vector<LinkEvent> events();
  // True while a session with the coordinator is established.
  bool connected() const { return connected_; }

  const protocol::DecodeLimits& limits() const { return limits_; }
  zmq::socket_t& socket() { return socket_; }
  // Readable when events() has something; poll it next to socket().
  zmq::socket_t& monitor() { return monitor_; }

 private:
  explicit CoordinatorLink(CoordinatorLinkOptions options) : options_(std::move(options)) {}
  // Makes the DEALER (keys, limits, timers), its monitor, and connects.
  Status open();
  // Stops the monitor, then closes both sockets (see close() for why that order).
  void close();

  CoordinatorLinkOptions options_;
  protocol::KeyPair own_keys_;
  std::string server_key_;
  int incarnation_ = 0;  // names each socket's monitor endpoint
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  zmq::socket_t monitor_;
  bool connected_ = false;
  protocol::DecodeLimits limits_;
  uint64_t last_id_ = 0;
};

}  // namespace cadre::agent

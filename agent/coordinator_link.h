// The agent's connection to the coordinator: one ZeroMQ DEALER socket, CURVE
// unless explicitly insecure, speaking protocol/ framing.
//
// ZeroMQ reconnects on its own, so a link is never "down" from the caller's view;
// the agent notices a restarted coordinator through its acks instead. Sends never
// block (ZMQ_SNDTIMEO 0): when the queue toward an unreachable coordinator is full
// the message is dropped, which the agent's resend timers make safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "protocol/codec.h"
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

class CoordinatorLink {
 public:
  static Result<std::unique_ptr<CoordinatorLink>> Create(const CoordinatorLinkOptions& options);

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

  const protocol::DecodeLimits& limits() const { return limits_; }
  zmq::socket_t& socket() { return socket_; }

 private:
  CoordinatorLink() = default;

  zmq::context_t context_{1};
  zmq::socket_t socket_;
  protocol::DecodeLimits limits_;
  uint64_t last_id_ = 0;
};

}  // namespace cadre::agent

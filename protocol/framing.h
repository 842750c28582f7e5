// Framing of protocol messages over ZeroMQ multipart: [identity]? [header] [body].
// ROUTER sockets see the peer's identity as the first part; DEALER sockets do not.
#pragma once

#include <string>
#include <vector>

#include <zmq.hpp>

#include "protocol/checks.h"
#include "protocol/codec.h"

namespace cadre::protocol {

// One received message, header checked, body still encoded.
struct Envelope {
  std::string identity;  // ROUTER routing id; empty on DEALER sockets
  // The connection's ZAP User-Id (under Cadre's ZAP handler: the peer's Z85 CURVE
  // public key); empty when the socket has no ZAP authentication.
  std::string user_id;
  Header header;
  std::string body;
};

// Receives all parts of one multipart message (never leaving a partial message
// in the socket) and validates its shape and header. Returns kUnavailable when
// nothing could be received (EAGAIN/ETERM) and kInvalidArgument for a bad message;
// in the latter case `identity_out` still names the sender when it is known, so the
// caller can answer with an error.
Result<Envelope> recv_envelope(zmq::socket_t& socket, bool with_identity,
                               const DecodeLimits& limits, std::string* identity_out = nullptr);

Status send_envelope(zmq::socket_t& socket, const std::string& identity, bool with_identity,
                     const Header& header, const std::string& body);

template <typename T>
Result<T> decode_body(const Envelope& envelope, const DecodeLimits& limits) {
  return decode<T>(envelope.body, limits, kind_name(envelope.header.kind));
}

}  // namespace cadre::protocol

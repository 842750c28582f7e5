#include "protocol/framing.h"

namespace cadre::protocol {

Result<Envelope> recv_envelope(zmq::socket_t& socket, bool with_identity,
                               const DecodeLimits& limits, std::string* identity_out) {
  std::vector<zmq::message_t> parts;
  try {
    while (true) {
      zmq::message_t part;
      if (!socket.recv(part, zmq::recv_flags::dontwait)) {
        if (parts.empty()) return Unavailable("no message");
        // A multipart message arrives atomically, so more parts are always there.
        return Internal("multipart message ended early");
      }
      const bool more = part.more();
      // Bound how many parts one message may carry; keep draining, but drop the rest.
      if (parts.size() < 8) parts.push_back(std::move(part));
      if (!more) break;
    }
  } catch (const zmq::error_t& e) {
    return Unavailable(std::string("zmq recv failed: ") + e.what());
  }

  size_t first = 0;
  Envelope envelope;
  if (with_identity) {
    envelope.identity = parts[0].to_string();
    if (identity_out != nullptr) *identity_out = envelope.identity;
    first = 1;
  }
  if (parts.size() - first != 2) {
    return InvalidArgument("expected 2 message parts [header][body], got " +
                           std::to_string(parts.size() - first));
  }
  if (const char* user = zmq_msg_gets(parts[first].handle(), "User-Id")) envelope.user_id = user;
  ASSIGN_OR_RETURN(envelope.header, decode_header(parts[first].to_string_view(), limits));
  envelope.body = parts[first + 1].to_string();
  return envelope;
}

Status send_envelope(zmq::socket_t& socket, const std::string& identity, bool with_identity,
                     const Header& header, const std::string& body) {
  const std::string head = encode(header);
  return ZMQ_STATUS({
    if (with_identity) socket.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(head), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(body), zmq::send_flags::none);
  });
}

}  // namespace cadre::protocol

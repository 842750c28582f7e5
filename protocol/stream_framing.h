// Length-prefixed frames on a byte stream (TCP): a 4-byte big-endian payload length,
// then the payload. The one framing for Cadre's stream protocols — cadre-rsh's
// (protocol/exec_messages.h) and the training engine's ring handshake and rendezvous
// (training/collectives/socket.h); ZeroMQ messages are framed by ZeroMQ instead
// (protocol/framing.h). Pure byte handling, no sockets, so the edge cases are
// unit-tested without a peer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace cadre::protocol {

inline constexpr size_t kFrameHeaderBytes = 4;

// The frame carrying `payload`. InvalidArgument for an empty payload or one above
// max_frame_bytes: the peer would refuse it anyway.
Result<std::string> encode_frame(std::string_view payload, size_t max_frame_bytes);

// The payload length the kFrameHeaderBytes of `header` announce, checked against
// [1, max_frame_bytes] before anyone waits for (or allocates) the payload.
Result<size_t> frame_length(std::string_view header, size_t max_frame_bytes);

// Reassembles frames from a byte stream read in arbitrary pieces. A length of 0 or
// above the limit poisons the decoder: the stream cannot be resynchronised, so
// every later next() repeats the error and the caller drops the connection.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  void append(std::string_view bytes) { buffer_.append(bytes); }

  // The next complete payload, std::nullopt while more bytes are needed, or the
  // error that poisoned the stream.
  Result<std::optional<std::string>> next();

  // Bytes received but not yet returned; non-zero at EOF means a truncated frame.
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  size_t max_frame_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already returned as frames
  Status poisoned_;
};

}  // namespace cadre::protocol

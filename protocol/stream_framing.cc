#include "protocol/stream_framing.h"

#include <cstdint>

namespace cadre::protocol {

Result<std::string> encode_frame(std::string_view payload, size_t max_frame_bytes) {
  if (payload.empty()) return InvalidArgument("frame: empty payload");
  if (payload.size() > max_frame_bytes) {
    return InvalidArgument("frame: payload of " + std::to_string(payload.size()) +
                           " bytes exceeds the limit of " + std::to_string(max_frame_bytes));
  }
  const auto size = static_cast<uint32_t>(payload.size());
  std::string frame;
  frame.reserve(kFrameHeaderBytes + payload.size());
  for (int shift = 24; shift >= 0; shift -= 8) frame.push_back(static_cast<char>(size >> shift));
  frame.append(payload);
  return frame;
}

Result<size_t> frame_length(std::string_view header, size_t max_frame_bytes) {
  if (header.size() < kFrameHeaderBytes) return InvalidArgument("frame: truncated length");
  uint32_t size = 0;
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) {
    size = (size << 8) | static_cast<unsigned char>(header[i]);
  }
  if (size == 0 || size > max_frame_bytes) {
    return InvalidArgument("frame: length " + std::to_string(size) + " is outside [1, " +
                           std::to_string(max_frame_bytes) + "]");
  }
  return size_t{size};
}

Result<std::optional<std::string>> FrameDecoder::next() {
  if (!poisoned_.ok()) return poisoned_;
  const size_t available = buffer_.size() - consumed_;
  if (available < kFrameHeaderBytes) return std::optional<std::string>();
  // Checked before waiting for the payload: a peer cannot make us buffer what it claims.
  auto length = frame_length(std::string_view(buffer_).substr(consumed_), max_frame_bytes_);
  if (!length.ok()) {
    poisoned_ = length.status();
    return poisoned_;
  }
  const size_t size = *length;
  if (available - kFrameHeaderBytes < size) return std::optional<std::string>();
  std::string payload = buffer_.substr(consumed_ + kFrameHeaderBytes, size);
  consumed_ += kFrameHeaderBytes + size;
  // Compact once the consumed prefix dominates, so a long session stays O(bytes).
  if (consumed_ > buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return std::optional<std::string>(std::move(payload));
}

}  // namespace cadre::protocol

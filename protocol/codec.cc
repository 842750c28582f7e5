#include "protocol/codec.h"

#include <algorithm>

namespace cadre::protocol {

Result<msgpack::object_handle> unpack_bounded(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return InvalidArgument("empty frame");
  // Every element takes at least one byte, so no honest count exceeds the size.
  const size_t size = bytes.size();
  const size_t elements = std::min(limits.max_elements, size);
  const size_t strings = std::min(limits.max_string_bytes, size);
  msgpack::unpack_limit limit(elements, elements, strings, strings, strings, limits.max_depth);
  try {
    size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), size, offset, nullptr, nullptr, limit);
    if (offset != size) {
      return InvalidArgument("trailing bytes after message (" + std::to_string(size - offset) +
                             " of " + std::to_string(size) + ")");
    }
    return handle;
  } catch (const msgpack::insufficient_bytes&) {
    return InvalidArgument("truncated message (" + std::to_string(size) + " bytes)");
  } catch (const msgpack::depth_size_overflow&) {
    return InvalidArgument("message nests deeper than " + std::to_string(limits.max_depth));
  } catch (const msgpack::size_overflow& e) {
    return InvalidArgument(std::string("message exceeds a decode limit: ") + e.what());
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed msgpack: ") + e.what());
  }
}

Result<Header> decode_header(std::string_view bytes, const DecodeLimits& limits) {
  ASSIGN_OR_RETURN(Header header, decode<Header>(bytes, limits, "header"));
  if (header.v != kProtocolVersion) {
    return InvalidArgument("unsupported protocol version " + std::to_string(header.v) +
                           " (this peer speaks " + std::to_string(kProtocolVersion) + ")");
  }
  if (!is_known_kind(header.kind)) {
    return InvalidArgument("unknown message kind " +
                           std::to_string(static_cast<unsigned>(header.kind)));
  }
  return header;
}

}  // namespace cadre::protocol

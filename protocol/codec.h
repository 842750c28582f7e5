// msgpack encoding of protocol structs, and bounded decoding of untrusted bytes.
// This is the only place that calls msgpack::pack/unpack (STYLE.md §2).
#pragma once

#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "protocol/limits.h"
#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::protocol {

template <typename T>
std::string encode(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

// Parses exactly one msgpack object filling all of `bytes`. Each count the bytes
// claim (array/map length, string size) is capped by the bytes actually present,
// so a 5-byte frame cannot make us reserve gigabytes.
Result<msgpack::object_handle> unpack_bounded(std::string_view bytes, const DecodeLimits& limits);

// Converts an unpacked map into T; wrong types become an error value.
template <typename T>
Result<T> convert_object(const msgpack::object& object, const char* what) {
  if (object.type != msgpack::type::MAP) {
    return InvalidArgument(std::string(what) + ": expected a map");
  }
  try {
    T value{};
    object.convert(value);
    return value;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string(what) + ": wrong field type (" + e.what() + ")");
  }
}

template <typename T>
Result<T> decode(std::string_view bytes, const DecodeLimits& limits, const char* what = "body") {
  ASSIGN_OR_RETURN(msgpack::object_handle handle, unpack_bounded(bytes, limits));
  return convert_object<T>(handle.get(), what);
}

// Decodes a header and checks version and kind.
Result<Header> decode_header(std::string_view bytes, const DecodeLimits& limits);

}  // namespace cadre::protocol

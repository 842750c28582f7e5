// Enums that travel, are stored and are printed as their names ("Running"), while
// code compares enum values, so a misspelt state does not compile. One mechanism
// for all of them: specialise EnumNames<E> with a table of {value, "Name"}; then
// enum_name(), parse_enum<E>() and msgpack packing/unpacking as a string follow.
// An unknown name on the wire is a decode error, never a silent default.
#pragma once

#include <msgpack.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace cadre::protocol {

// Specialise with `static constexpr std::pair<E, std::string_view> kTable[] = {...};`.
template <typename E>
struct EnumNames;

template <typename E, typename = void>
struct is_string_enum : std::false_type {};
template <typename E>
struct is_string_enum<E, std::void_t<decltype(EnumNames<E>::kTable)>> : std::true_type {};

template <typename E>
std::string_view enum_name(E value) {
  for (const auto& [v, name] : EnumNames<E>::kTable) {
    if (v == value) return name;
  }
  return "Unknown";
}

template <typename E>
std::optional<E> parse_enum(std::string_view name) {
  for (const auto& [v, n] : EnumNames<E>::kTable) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// For logs, tables and JSON: std::string of the enum's name.
template <typename E, std::enable_if_t<is_string_enum<E>::value, int> = 0>
std::string to_string(E value) {
  return std::string(enum_name(value));
}

}  // namespace cadre::protocol

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <typename E>
  struct convert<E, std::enable_if_t<cadre::protocol::is_string_enum<E>::value>> {
    const msgpack::object& operator()(const msgpack::object& o, E& v) const {
      if (o.type != msgpack::type::STR) throw msgpack::type_error();
      auto parsed = cadre::protocol::parse_enum<E>(std::string_view(o.via.str.ptr, o.via.str.size));
      if (!parsed) throw msgpack::type_error();
      v = *parsed;
      return o;
    }
  };

  template <typename E>
  struct pack<E, std::enable_if_t<cadre::protocol::is_string_enum<E>::value>> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& o, const E& v) const {
      const std::string_view name = cadre::protocol::enum_name(v);
      o.pack_str(static_cast<uint32_t>(name.size()));
      o.pack_str_body(name.data(), static_cast<uint32_t>(name.size()));
      return o;
    }
  };

  // The names are static storage, so objects may point at them without a zone copy.
  template <typename E>
  struct object<E, std::enable_if_t<cadre::protocol::is_string_enum<E>::value>> {
    void operator()(msgpack::object& o, const E& v) const {
      const std::string_view name = cadre::protocol::enum_name(v);
      o.type = msgpack::type::STR;
      o.via.str.ptr = name.data();
      o.via.str.size = static_cast<uint32_t>(name.size());
    }
  };

  template <typename E>
  struct object_with_zone<E, std::enable_if_t<cadre::protocol::is_string_enum<E>::value>> {
    void operator()(msgpack::object::with_zone& o, const E& v) const {
      object<E>()(static_cast<msgpack::object&>(o), v);
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack

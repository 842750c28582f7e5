// Content digests (libsodium's SHA-256), as lower-case hex: token hashes, cache keys.
#pragma once

#include <string>
#include <string_view>

namespace cadre::protocol {

std::string sha256_hex(std::string_view bytes);

}  // namespace cadre::protocol

// Cadre user tokens: bearer tokens for the ingress (and later the dashboard),
// each scoped to one namespace. The coordinator makes them, shows each once, and
// keeps only its SHA-256; ingresses get the hashes with their routes and compare
// hashes, so neither the store nor the wire ever holds a usable token.
#pragma once

#include <string>

namespace cadre::protocol {

// "cadre_" and 256 random bits in hex; the prefix lets secret scanners find leaks.
std::string new_user_token();
// Lower-case hex SHA-256 of `token`.
std::string token_sha256(const std::string& token);
// The public name of a token: the first 12 hex digits of its hash.
inline std::string token_id(const std::string& sha256) { return sha256.substr(0, 12); }

}  // namespace cadre::protocol

#include "protocol/user_tokens.h"

#include <sodium.h>

#include "protocol/peer_auth.h"

namespace cadre::protocol {

std::string new_user_token() { return "cadre_" + new_job_token(); }

std::string token_sha256(const std::string& token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace cadre::protocol

#include "protocol/user_tokens.h"

#include "protocol/digest.h"
#include "protocol/peer_auth.h"

namespace cadre::protocol {

std::string new_user_token() { return "cadre_" + new_job_token(); }

std::string token_sha256(const std::string& token) { return sha256_hex(token); }

}  // namespace cadre::protocol

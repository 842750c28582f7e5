#include "ingress/login_sessions.h"

#include <sodium.h>

#include "protocol/user_tokens.h"

namespace cadre::ingress {

std::string LoginSessions::create(const std::string& ns, Clock::time_point now) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : raw) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  const std::string key = protocol::token_sha256(id);
  std::lock_guard<std::mutex> lock(mutex_);
  // Expired ones go first; then, at the cap, the oldest.
  while (!by_expiry_.empty() &&
         (by_expiry_.begin()->first <= now || sessions_.size() >= options_.max_sessions)) {
    sessions_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  const auto expires = now + options_.lifetime;
  sessions_[key] = Session{ns, expires};
  by_expiry_.emplace(expires, key);
  return id;
}

std::optional<std::string> LoginSessions::ns_of(const std::string& id, Clock::time_point now) {
  if (id.size() != 64) return std::nullopt;
  const std::string key = protocol::token_sha256(id);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.ns;
}

std::string csrf_token(const std::string& session_id) {
  return protocol::token_sha256("cadre csrf token of session " + session_id);
}

size_t LoginSessions::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

}  // namespace cadre::ingress

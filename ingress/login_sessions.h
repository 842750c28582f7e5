// Browser sessions at the ingress: a login (a Cadre token posted to /login, or a
// one-time code from `cadre notebook open`) becomes a random session id in an
// HttpOnly, SameSite=Strict cookie, scoped to the token's namespace. Ids are 256
// random bits; only their SHA-256 is kept, so a dump of the map opens nothing.
// Sessions live in this ingress's memory: a restart logs browsers out.
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace cadre::ingress {

struct LoginSessionsOptions {
  std::chrono::seconds lifetime{12 * 3600};  // a session ends this long after login
  size_t max_sessions = 100000;              // past it, the oldest ends first
};

class LoginSessions {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoginSessions(LoginSessionsOptions options = {}) : options_(options) {}

  // A new session for `ns`; returns its id (the cookie's value).
  std::string create(const std::string& ns, Clock::time_point now = Clock::now());
  // The namespace of a live session; nullopt for an unknown or expired id.
  std::optional<std::string> ns_of(const std::string& id, Clock::time_point now = Clock::now());
  size_t size() const;
  std::chrono::seconds lifetime() const { return options_.lifetime; }

 private:
  struct Session {
    std::string ns;
    Clock::time_point expires;
  };
  LoginSessionsOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Session> sessions_;                  // by SHA-256 of the id
  std::multimap<Clock::time_point, std::string> by_expiry_;  // for eviction
};

// The CSRF token of a session: SHA-256 of a fixed label and the session id, so the
// ingress recomputes it from the cookie instead of storing it, and a page that
// cannot read the HttpOnly cookie cannot compute it. GET /api/v1/session hands it
// to the dashboard, which sends it back as X-Cadre-CSRF on every state change.
std::string csrf_token(const std::string& session_id);

}  // namespace cadre::ingress

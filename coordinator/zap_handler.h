// ZAP (ZeroMQ RFC 27) handler: decides which CURVE public keys may connect to which
// socket. Each coordinator socket sets its own ZAP domain ("agents", "clients"), and
// each domain has its own allowlist folder of .pub files, so an agent key cannot act
// as a client and a client key cannot register as an agent. An agent key's .pub may
// bind it to one node name ("node = gpu-1"); the gateway refuses its registration
// under any other. The connection's ZAP User-Id is the peer's Z85 key, so the
// gateway can ask, per message, whether that key is still allowed (revocation
// takes effect on open connections too).
//
// Besides the folders, client keys the coordinator issues (a notebook's, through
// actors::ClientKeys) are allowed while their owner exists. A client key may be
// scoped to one namespace ("namespace = team-a" in its .pub, or as issued); the
// gateway hands the scope to the actors with every request.
//
// Thread-safety: grant(), allow(), revoke() and refused() may be called from any
// thread (the gateway's loop, actors); the allowlists are guarded by a mutex, held
// briefly.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "actors/client_keys.h"
#include "protocol/status.h"

namespace cadre::coordinator {

struct ZapOptions {
  std::map<std::string, std::string> allowlist_dirs;  // ZAP domain -> folder of *.pub
};

// What an allowed key may do.
struct KeyGrant {
  std::string node;  // the node name an agent key is bound to; "" when unbound
  std::string ns;    // the one namespace a client key may act in; "" for every one
};

class ZapHandler : public actors::ClientKeys {
 public:
  // Binds inproc://zeromq.zap.01 on `context`; must run before any CURVE socket binds.
  static Result<std::unique_ptr<ZapHandler>> Create(zmq::context_t& context, ZapOptions options);
  ~ZapHandler() override;

  // actors::ClientKeys: issued client keys, scoped to a namespace.
  void allow(const std::string& public_key, const std::string& ns) override;
  void revoke(const std::string& public_key) override;

  // The grant of `z85_key` in `domain`, or nullopt when it is not (or no longer)
  // allowed. The folder is rescanned at most once a second.
  std::optional<KeyGrant> grant(const std::string& domain, const std::string& z85_key);
  bool allowed(const std::string& domain, const std::string& z85_key) {
    return grant(domain, z85_key).has_value();
  }
  // Connection attempts refused so far (each is logged only while few, then sampled).
  uint64_t refused() const { return refused_; }

 private:
  ZapHandler(zmq::context_t& context, ZapOptions options);
  void run();
  void rescan(const std::string& domain);  // mutex_ held
  void log_refusal(const std::string& key, const std::string& address, const std::string& domain);

  zmq::socket_t socket_;  // owned by the handler thread once started
  ZapOptions options_;
  std::mutex mutex_;  // guards keys_, issued_clients_ and scanned_
  std::map<std::string, std::map<std::string, KeyGrant>> keys_;  // domain -> key -> grant
  std::map<std::string, std::string> issued_clients_;            // key -> namespace
  std::map<std::string, std::chrono::steady_clock::time_point> scanned_;
  std::atomic<uint64_t> refused_{0};
  std::chrono::steady_clock::time_point last_refusal_log_{};  // handler thread only
  uint64_t refusals_at_last_log_ = 0;                         // handler thread only
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cadre::coordinator

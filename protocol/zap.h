// ZAP (ZeroMQ RFC 27): the request/reply exchange every Cadre ZAP handler speaks,
// and the simplest handler, a fixed allowlist (a parameter server allows exactly
// its job's worker keys; the coordinator's folder-based handler is
// coordinator/zap_handler.h).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "protocol/status.h"

namespace cadre::protocol {

struct ZapRequest {
  std::string domain;
  std::string address;    // the peer's IP address
  std::string mechanism;  // "CURVE", "NULL", "PLAIN"
  std::string key;        // the peer's CURVE public key in Z85; empty for other mechanisms
};

struct ZapDecision {
  bool allowed = false;
  std::string user_id;  // attached to every message of the connection (User-Id)
  std::string reason;   // sent back when refused
};

// Waits up to `timeout` for one request on the handler's REP socket and answers it
// with decide(request); a malformed request is refused. Returns false on timeout.
// Throws zmq::error_t as cppzmq does (ETERM when the context is closing).
bool serve_zap_request(zmq::socket_t& socket, std::chrono::milliseconds timeout,
                       const std::function<ZapDecision(const ZapRequest&)>& decide);

// Allows CURVE peers whose key is in a fixed set; runs its own thread.
class ZapAllowlist {
 public:
  // Binds inproc://zeromq.zap.01 on `context`: before any CURVE server socket binds.
  static Result<std::unique_ptr<ZapAllowlist>> Create(zmq::context_t& context,
                                                      std::set<std::string> z85_keys);
  ~ZapAllowlist();
  uint64_t refused() const { return refused_; }

 private:
  ZapAllowlist(zmq::context_t& context, std::set<std::string> keys);
  zmq::socket_t socket_;
  std::set<std::string> keys_;
  std::atomic<uint64_t> refused_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cadre::protocol

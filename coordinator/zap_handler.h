// ZAP (ZeroMQ RFC 27) handler: decides which CURVE public keys may connect to which
// socket. Each coordinator socket sets its own ZAP domain ("agents", "clients"), and
// each domain has its own allowlist folder of .pub files, so an agent key cannot act
// as a client and a client key cannot register as an agent.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "protocol/status.h"

namespace cadre::coordinator {

struct ZapOptions {
  std::map<std::string, std::string> allowlist_dirs;  // ZAP domain -> folder of *.pub
};

class ZapHandler {
 public:
  // Binds inproc://zeromq.zap.01 on `context`; must run before any CURVE socket binds.
  static Result<std::unique_ptr<ZapHandler>> Create(zmq::context_t& context, ZapOptions options);
  ~ZapHandler();

  // Whether `z85_key` is allowed in `domain` (rescanning the folder at most once a second).
  bool allowed(const std::string& domain, const std::string& z85_key);

 private:
  ZapHandler(zmq::context_t& context, ZapOptions options);
  void run();
  void rescan(const std::string& domain);

  zmq::socket_t socket_;  // owned by the handler thread once started
  ZapOptions options_;
  std::map<std::string, std::set<std::string>> keys_;  // domain -> allowed keys (thread only)
  std::map<std::string, std::chrono::steady_clock::time_point> scanned_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cadre::coordinator

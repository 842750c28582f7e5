#include "coordinator/zap_handler.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <vector>

#include "protocol/curve_keys.h"
#include "protocol/zap.h"

namespace cadre::coordinator {

// The allowlist folders are rescanned at most this often, so a flood of
// connection attempts costs few disk reads.
constexpr auto kRescanInterval = std::chrono::seconds(1);

ZapHandler::ZapHandler(zmq::context_t& context, ZapOptions options)
    : socket_(context, zmq::socket_type::rep), options_(std::move(options)) {}

Result<std::unique_ptr<ZapHandler>> ZapHandler::Create(zmq::context_t& context,
                                                       ZapOptions options) {
  std::unique_ptr<ZapHandler> handler(new ZapHandler(context, std::move(options)));
  try {
    handler->socket_.bind("inproc://zeromq.zap.01");
  } catch (const zmq::error_t& e) {
    return Internal(std::string("binding ZAP handler: ") + e.what());
  }
  for (const auto& [domain, dir] : handler->options_.allowlist_dirs) {
    std::lock_guard<std::mutex> lock(handler->mutex_);
    handler->rescan(domain);
    spdlog::info("zap: domain={} allows {} keys from {}", domain, handler->keys_[domain].size(),
                 dir);
  }
  handler->thread_ = std::thread([h = handler.get()] { h->run(); });
  return handler;
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::rescan(const std::string& domain) {
  scanned_[domain] = std::chrono::steady_clock::now();
  auto dir = options_.allowlist_dirs.find(domain);
  if (dir == options_.allowlist_dirs.end()) return;
  std::map<std::string, KeyGrant> keys;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir->second, ec)) {
    if (entry.path().extension() != ".pub") continue;
    auto key = protocol::read_authorized_key(entry.path().string());
    if (!key.ok()) {
      spdlog::warn("zap: ignoring {}", key.status().message());
      continue;
    }
    auto [it, added] = keys.emplace(key->public_key, KeyGrant{key->node, key->ns});
    // One key in two files with different nodes would let it pick either: it gets neither.
    if (!added && it->second.node != key->node) {
      spdlog::warn("zap: key {} is bound to both '{}' and '{}'; it may register as no node",
                   key->public_key, it->second.node, key->node);
      it->second.node = "\n";  // matches no node name
    }
    // Likewise two namespaces: it may act in none (an unscoped file does not widen a
    // scoped one).
    if (!added && it->second.ns != key->ns) {
      spdlog::warn("zap: key {} is scoped to both '{}' and '{}'; it may act in no namespace",
                   key->public_key, it->second.ns, key->ns);
      it->second.ns = "\n";  // matches no namespace
    }
  }
  keys_[domain] = std::move(keys);
}

std::optional<KeyGrant> ZapHandler::grant(const std::string& domain, const std::string& key) {
  if (options_.allowlist_dirs.count(domain) == 0) return std::nullopt;  // unknown: never
  std::lock_guard<std::mutex> lock(mutex_);
  // Rescanning (at most once a second) both admits new keys and revokes removed ones
  // without a restart.
  if (std::chrono::steady_clock::now() - scanned_[domain] > kRescanInterval) rescan(domain);
  auto& keys = keys_[domain];
  auto it = keys.find(key);
  if (it != keys.end()) return it->second;
  if (domain == "clients") {
    auto issued = issued_clients_.find(key);
    if (issued != issued_clients_.end()) return KeyGrant{"", issued->second};
  }
  return std::nullopt;
}

void ZapHandler::allow(const std::string& public_key, const std::string& ns) {
  if (ns.empty()) return;  // issued keys are always scoped
  std::lock_guard<std::mutex> lock(mutex_);
  issued_clients_[public_key] = ns;
}

void ZapHandler::revoke(const std::string& public_key) {
  std::lock_guard<std::mutex> lock(mutex_);
  issued_clients_.erase(public_key);
}

// A flood of unkeyed connection attempts must not become a flood of log lines:
// the first few are logged each, then one summary line at most every 10 s.
void ZapHandler::log_refusal(const std::string& key, const std::string& address,
                             const std::string& domain) {
  const uint64_t count = ++refused_;
  const auto now = std::chrono::steady_clock::now();
  if (count <= 10) {
    spdlog::warn("zap: refused key {} from {} in domain '{}'", key, address, domain);
    last_refusal_log_ = now;
    refusals_at_last_log_ = count;
  } else if (now - last_refusal_log_ >= std::chrono::seconds(10)) {
    spdlog::warn("zap: refused {} more connection attempts ({} in all; latest key {} from {})",
                 count - refusals_at_last_log_, count, key, address);
    last_refusal_log_ = now;
    refusals_at_last_log_ = count;
  }
}

void ZapHandler::run() {
  const auto decide = [this](const protocol::ZapRequest& r) -> protocol::ZapDecision {
    if (r.mechanism != "CURVE" || r.key.empty()) {
      log_refusal("(none)", r.address, r.domain);
      return {false, "", "CURVE required"};
    }
    if (!allowed(r.domain, r.key)) {
      log_refusal(r.key, r.address, r.domain);
      return {false, "", "key not allowed in domain " + r.domain};
    }
    return {true, r.key, ""};  // the User-Id: the gateway checks this key per message
  };
  while (!stop_) {
    try {
      protocol::serve_zap_request(socket_, std::chrono::milliseconds(200), decide);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::error("zap: {}", e.what());
    }
  }
}

}  // namespace cadre::coordinator

#include "coordinator/zap_handler.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <vector>

#include "protocol/curve_keys.h"

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
    auto [it, added] = keys.emplace(key->public_key, KeyGrant{key->node});
    // One key in two files with different nodes would let it pick either: it gets neither.
    if (!added && it->second.node != key->node) {
      spdlog::warn("zap: key {} is bound to both '{}' and '{}'; it may register as no node",
                   key->public_key, it->second.node, key->node);
      it->second.node = "\n";  // matches no node name
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
  if (it == keys.end()) return std::nullopt;
  return it->second;
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
  while (!stop_) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(200));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      do {
        zmq::message_t frame;
        if (!socket_.recv(frame)) break;
        frames.push_back(std::move(frame));
      } while (frames.back().more());
      // Request: version, request id, domain, address, identity, mechanism, credentials.
      std::string status = "400", text = "malformed ZAP request", user;
      if (frames.size() >= 7 && frames[0].to_string() == "1.0") {
        const std::string domain = frames[2].to_string();
        const std::string mechanism = frames[5].to_string();
        if (mechanism != "CURVE" || frames[6].size() != 32) {
          text = "CURVE required";
          log_refusal("(none)", frames[3].to_string(), domain);
        } else {
          char z85[41];
          zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
          if (allowed(domain, z85)) {
            status = "200";
            text = "OK";
            user = z85;
          } else {
            text = "key not allowed in domain " + domain;
            log_refusal(z85, frames[3].to_string(), domain);
          }
        }
      }
      const std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
      socket_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(text), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(user), zmq::send_flags::sndmore);
      socket_.send(zmq::str_buffer(""), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::error("zap: {}", e.what());
    }
  }
}

}  // namespace cadre::coordinator

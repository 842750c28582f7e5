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
  std::set<std::string> keys;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir->second, ec)) {
    if (entry.path().extension() != ".pub") continue;
    auto key = protocol::read_public_key(entry.path().string());
    if (key.ok()) {
      keys.insert(*key);
    } else {
      spdlog::warn("zap: ignoring {}", key.status().message());
    }
  }
  keys_[domain] = std::move(keys);
}

bool ZapHandler::allowed(const std::string& domain, const std::string& key) {
  if (options_.allowlist_dirs.count(domain) == 0) return false;  // unknown domains never pass
  // Rescanning (at most once a second) both admits new keys and revokes removed ones
  // without a restart; ZAP runs once per connection, not per message.
  if (std::chrono::steady_clock::now() - scanned_[domain] > kRescanInterval) rescan(domain);
  return keys_[domain].count(key) > 0;
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
        } else {
          char z85[41];
          zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
          if (allowed(domain, z85)) {
            status = "200";
            text = "OK";
            user = z85;
          } else {
            text = "key not allowed in domain " + domain;
            spdlog::warn("zap: refused key {} from {} in domain '{}'", z85, frames[3].to_string(),
                         domain);
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

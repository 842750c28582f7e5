#include "protocol/zap.h"

#include <vector>

namespace cadre::protocol {

bool serve_zap_request(zmq::socket_t& socket, std::chrono::milliseconds timeout,
                       const std::function<ZapDecision(const ZapRequest&)>& decide) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return false;
  std::vector<zmq::message_t> frames;
  do {
    zmq::message_t frame;
    if (!socket.recv(frame)) break;
    // libzmq sends at most 7 frames (more for mechanisms with several credentials).
    if (frames.size() < 16) frames.push_back(std::move(frame));
  } while (frames.back().more());
  // Request: version, request id, domain, address, identity, mechanism, credentials.
  ZapDecision decision{false, "", "malformed ZAP request"};
  if (frames.size() >= 6 && frames[0].to_string() == "1.0") {
    ZapRequest request{frames[2].to_string(), frames[3].to_string(), frames[5].to_string(), ""};
    if (request.mechanism == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
      char z85[41];
      zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
      request.key = z85;
    }
    decision = decide(request);
  }
  const std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
  const std::string status = decision.allowed ? "200" : "400";
  const std::string text = decision.allowed ? "OK" : decision.reason;
  socket.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(status), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(text), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(decision.allowed ? decision.user_id : std::string()),
              zmq::send_flags::sndmore);
  socket.send(zmq::str_buffer(""), zmq::send_flags::none);
  return true;
}

ZapAllowlist::ZapAllowlist(zmq::context_t& context, std::set<std::string> keys)
    : socket_(context, zmq::socket_type::rep), keys_(std::move(keys)) {}

Result<std::unique_ptr<ZapAllowlist>> ZapAllowlist::Create(zmq::context_t& context,
                                                           std::set<std::string> z85_keys) {
  std::unique_ptr<ZapAllowlist> zap(new ZapAllowlist(context, std::move(z85_keys)));
  try {
    zap->socket_.bind("inproc://zeromq.zap.01");
  } catch (const zmq::error_t& e) {
    return Internal(std::string("binding ZAP handler: ") + e.what());
  }
  zap->thread_ = std::thread([z = zap.get()] {
    const auto decide = [z](const ZapRequest& r) {
      if (r.mechanism == "CURVE" && z->keys_.count(r.key) > 0) return ZapDecision{true, r.key, ""};
      ++z->refused_;
      return ZapDecision{false, "", "key not allowed"};
    };
    while (!z->stop_) {
      try {
        serve_zap_request(z->socket_, std::chrono::milliseconds(100), decide);
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) return;
      }
    }
  });
  return zap;
}

ZapAllowlist::~ZapAllowlist() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace cadre::protocol

#include "coordinator/zmq_outbox.h"

#include <spdlog/spdlog.h>

#include "protocol/checks.h"

namespace cadre::coordinator {

Result<std::shared_ptr<ZmqOutbox>> ZmqOutbox::Create(zmq::context_t& context) {
  std::shared_ptr<ZmqOutbox> outbox(new ZmqOutbox());
  ZMQCHECK({
    outbox->push_ = zmq::socket_t(context, zmq::socket_type::push);
    outbox->push_.set(zmq::sockopt::sndhwm, 0);  // never drop: the gateway drains continuously
    outbox->push_.connect(kOutboxEndpoint);
  });
  return outbox;
}

void ZmqOutbox::push(OutboxTarget target, const std::string& address, const std::string& header,
                     const std::string& body) {
  const char tag = static_cast<char>(target);
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    push_.send(zmq::buffer(&tag, 1), zmq::send_flags::sndmore);
    push_.send(zmq::buffer(address), zmq::send_flags::sndmore);
    push_.send(zmq::buffer(header), zmq::send_flags::sndmore);
    push_.send(zmq::buffer(body), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::error("outbox: send failed: {}", e.what());
  }
}

namespace {
std::string header(protocol::MessageKind kind, uint64_t epoch, uint64_t id, uint64_t reply_to) {
  protocol::Header h;
  h.kind = kind;
  h.epoch = epoch;
  h.id = id;
  h.reply_to = reply_to;
  return protocol::encode(h);
}
}  // namespace

void ZmqOutbox::to_agent(const std::string& node, uint64_t epoch, protocol::MessageKind kind,
                         std::string body, uint64_t id, uint64_t reply_to) {
  push(OutboxTarget::kAgentByNode, node, header(kind, epoch, id, reply_to), body);
}

void ZmqOutbox::to_agent_identity(const std::string& identity, uint64_t epoch,
                                  protocol::MessageKind kind, std::string body, uint64_t reply_to) {
  push(OutboxTarget::kAgentByIdentity, identity, header(kind, epoch, 0, reply_to), body);
}

void ZmqOutbox::to_client(const actors::ClientRef& client, protocol::MessageKind kind,
                          std::string body) {
  push(client.via_ingress ? OutboxTarget::kIngress : OutboxTarget::kClient, client.identity,
       header(kind, 0, 0, client.request_id), body);
}

void ZmqOutbox::to_ingress(const actors::ClientRef& ingress, protocol::MessageKind kind,
                           std::string body) {
  push(OutboxTarget::kIngress, ingress.identity, header(kind, 0, 0, ingress.request_id), body);
}

void ZmqOutbox::set_agent_route(const std::string& node, const std::string& identity) {
  push(OutboxTarget::kRoute, node, identity, "");
}

}  // namespace cadre::coordinator

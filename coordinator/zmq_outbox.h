// The Outbox that actors write to: each call becomes one multipart message on an
// inproc PUSH socket, which the gateway thread drains into the ROUTER sockets.
// ZeroMQ sockets are not thread-safe; the mutex serialises the actors' threads on
// the PUSH socket (a full barrier, which is what ZeroMQ asks of shared sockets).
#pragma once

#include <memory>
#include <mutex>

#include <zmq.hpp>

#include "actors/outbox.h"

namespace cadre::coordinator {

inline constexpr const char* kOutboxEndpoint = "inproc://cadre-outbox";

// First frame of an outbox message: what the gateway does with it.
enum class OutboxTarget : char {
  kAgentByNode = 'a',
  kAgentByIdentity = 'i',
  kClient = 'c',
  kIngress = 'g',
  kRoute = 'r'
};

class ZmqOutbox : public actors::Outbox {
 public:
  // The gateway's PULL socket must already be bound to kOutboxEndpoint.
  static Result<std::shared_ptr<ZmqOutbox>> Create(zmq::context_t& context);

  void to_agent(const std::string& node, uint64_t epoch, protocol::MessageKind kind,
                std::string body, uint64_t id, uint64_t reply_to) override;
  void to_agent_identity(const std::string& identity, uint64_t epoch, protocol::MessageKind kind,
                         std::string body, uint64_t reply_to) override;
  void to_client(const actors::ClientRef& client, protocol::MessageKind kind,
                 std::string body) override;
  void to_ingress(const actors::ClientRef& ingress, protocol::MessageKind kind,
                  std::string body) override;
  void set_agent_route(const std::string& node, const std::string& identity) override;

 private:
  ZmqOutbox() = default;
  void push(OutboxTarget target, const std::string& address, const std::string& header,
            const std::string& body);

  std::mutex mutex_;
  zmq::socket_t push_;  // guarded by mutex_
};

}  // namespace cadre::coordinator

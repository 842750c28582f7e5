// How actors send on the wire without touching a socket: ZeroMQ sockets belong to
// the gateway thread, so actors hand messages to an Outbox, which queues them for
// that thread in FIFO order. Implemented in coordinator/zmq_outbox.h.
#pragma once

#include <cstdint>
#include <string>

#include "actors/client_scope.h"
#include "protocol/codec.h"

namespace cadre::actors {

// Who a client reply goes to: the ROUTER identity and the request's header id,
// and what its key may do.
struct ClientRef {
  std::string identity;
  uint64_t request_id = 0;
  // A namespace-scoped key's namespace (actors/manager_scope.cc): it sees and
  // changes only that namespace. Empty: every namespace (an operator's key).
  std::string ns;
  // A user's call through an ingress's HTTP API (ApiRequest): the reply goes back
  // on the ingress port, to the ingress that asked.
  bool via_ingress = false;
};

class Outbox {
 public:
  virtual ~Outbox() = default;

  // To the agent registered as `node`, fenced with `epoch`; reply_to 0 unless a reply.
  virtual void to_agent(const std::string& node, uint64_t epoch, protocol::MessageKind kind,
                        std::string body, uint64_t id = 0, uint64_t reply_to = 0) = 0;
  // To an agent connection by its ROUTER identity (before or without a route).
  virtual void to_agent_identity(const std::string& identity, uint64_t epoch,
                                 protocol::MessageKind kind, std::string body,
                                 uint64_t reply_to = 0) = 0;
  // To a client, answering its request.
  virtual void to_client(const ClientRef& client, protocol::MessageKind kind, std::string body) = 0;
  // To an ingress, answering its request (the ingress port).
  virtual void to_ingress(const ClientRef& ingress, protocol::MessageKind kind,
                          std::string body) = 0;
  // Binds a node name to the ROUTER identity of its current connection.
  virtual void set_agent_route(const std::string& node, const std::string& identity) = 0;

  template <typename T>
  void agent(const std::string& node, uint64_t epoch, protocol::MessageKind kind, const T& body,
             uint64_t id = 0, uint64_t reply_to = 0) {
    to_agent(node, epoch, kind, protocol::encode(body), id, reply_to);
  }
  template <typename T>
  void client(const ClientRef& client, protocol::MessageKind kind, const T& body) {
    to_client(client, kind, protocol::encode(body));
  }
  // Every list goes out through here: a scoped client never sees other namespaces.
  void client(const ClientRef& client, protocol::MessageKind kind, const protocol::GetReply& body) {
    to_client(client, kind, protocol::encode(within_scope(body, client.ns)));
  }
  void client_error(const ClientRef& client, const Status& status) {
    to_client(
        client, protocol::MessageKind::kError,
        protocol::encode(protocol::ErrorReply{status_code_name(status.code()), status.message()}));
  }
};

}  // namespace cadre::actors

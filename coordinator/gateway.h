// The coordinator's ZeroMQ edge. One thread owns both ROUTER sockets (agents and
// clients) and the outbox's PULL end: it decodes every inbound frame with bounded
// limits, hands typed messages to the actors, and forwards the actors' outbound
// messages. A malformed frame is answered (clients) or dropped (agents) and counted;
// it never reaches an actor. Decoded messages go out through actors::Inbound, so
// the routing rules are tested without an actor system (tests/coordinator).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "actors/coordinator_metrics.h"
#include "actors/inbound.h"
#include "coordinator/zap_handler.h"
#include "protocol/curve_keys.h"
#include "protocol/framing.h"

namespace cadre::coordinator {

struct GatewayOptions {
  std::string bind_address = "127.0.0.1";
  int agent_port = 7070;          // 0: any free port
  int client_port = 7071;         // 0: any free port
  int ingress_port = 7072;        // 0: any free port; -1: no ingress port
  bool insecure = false;          // no CURVE
  protocol::KeyPair server_keys;  // CURVE server keys unless insecure
  int64_t max_message_bytes = 64ll << 20;
  // Replies queued for one client (ZMQ_SNDHWM per peer): a client that does not
  // read loses replies past this instead of growing the coordinator.
  int client_send_queue = 64;
  // Asked on every message whether the sender's key is still allowed, and on
  // registration which node an agent key is bound to. Not owned; nullptr when
  // insecure.
  ZapHandler* keys = nullptr;
  // Counts every accepted message by port and kind. Not owned; may be nullptr.
  actors::CoordinatorMetrics* metrics = nullptr;
};

class Gateway {
 public:
  // Binds both ports and the outbox; the ZAP handler must already be running.
  static Result<std::unique_ptr<Gateway>> Create(zmq::context_t& context,
                                                 const GatewayOptions& options);

  const std::string& agent_endpoint() const { return agent_endpoint_; }
  const std::string& client_endpoint() const { return client_endpoint_; }
  const std::string& ingress_endpoint() const { return ingress_endpoint_; }  // "" when off
  std::shared_ptr<actors::Outbox> outbox() const { return outbox_; }

  // Runs the loop on the calling thread until `stop` becomes true.
  void run(actors::Inbound& inbound, const std::atomic<bool>& stop);

  // Frames refused so far (malformed, oversized, wrong port, unregistered sender).
  uint64_t rejected() const { return rejected_; }

 private:
  Gateway(zmq::context_t& context);
  void on_agent_frame(actors::Inbound& inbound);
  void on_client_frame(actors::Inbound& inbound);
  void on_ingress_frame(actors::Inbound& inbound);
  // Which kinds each port accepts, and from whom: an error is the frame's rejection.
  Status route_agent(const protocol::Envelope& envelope, actors::Inbound& inbound);
  Status route_client(const protocol::Envelope& envelope, actors::Inbound& inbound);
  Status route_ingress(const protocol::Envelope& envelope, actors::Inbound& inbound);
  void on_outbox_frame();
  void reject(const char* port, const std::string& identity, const Status& why);
  // Answers a request with an ErrorReply naming `why`.
  void reply_error(zmq::socket_t& socket, const std::string& identity, uint64_t reply_to,
                   const Status& why);
  // PermissionDenied unless the connection's key is (still) allowed in `domain`;
  // for an agent's registration, also unless the key is bound to `node`.
  Status check_key(const protocol::Envelope& envelope, const char* domain,
                   const std::string* node = nullptr);

  void count(const char* port, protocol::MessageKind kind) {
    if (metrics_ != nullptr) metrics_->message(port, kind);
  }

  ZapHandler* keys_ = nullptr;
  actors::CoordinatorMetrics* metrics_ = nullptr;
  zmq::socket_t agents_;
  zmq::socket_t clients_;
  zmq::socket_t ingresses_;  // the ingresses' own port and key role: routes, nothing else
  zmq::socket_t outbox_pull_;
  std::shared_ptr<actors::Outbox> outbox_;
  std::string agent_endpoint_;
  std::string client_endpoint_;
  std::string ingress_endpoint_;
  protocol::DecodeLimits limits_;
  std::map<std::string, std::string> node_identity_;  // node -> ROUTER identity
  std::map<std::string, std::string> identity_node_;  // ROUTER identity -> node
  std::atomic<uint64_t> rejected_{0};                 // written by the loop thread, read by anyone
};

}  // namespace cadre::coordinator

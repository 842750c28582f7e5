#include "coordinator/gateway.h"

#include <spdlog/spdlog.h>

#include "coordinator/zmq_outbox.h"
#include "protocol/checks.h"
#include "protocol/spec/yaml_reader.h"

namespace cadre::coordinator {

using protocol::MessageKind;

Gateway::Gateway(zmq::context_t& context)
    : agents_(context, zmq::socket_type::router),
      clients_(context, zmq::socket_type::router),
      ingresses_(context, zmq::socket_type::router),
      outbox_pull_(context, zmq::socket_type::pull) {}

Result<std::unique_ptr<Gateway>> Gateway::Create(zmq::context_t& context,
                                                 const GatewayOptions& options) {
  std::unique_ptr<Gateway> g(new Gateway(context));
  g->keys_ = options.insecure ? nullptr : options.keys;
  g->metrics_ = options.metrics;
  g->limits_.max_string_bytes = static_cast<size_t>(options.max_message_bytes);
  auto bind = [&](zmq::socket_t& socket, int port, const std::string& domain, std::string* endpoint,
                  int send_queue) -> Status {
    ZMQCHECK({
      socket.set(zmq::sockopt::maxmsgsize, options.max_message_bytes);
      socket.set(zmq::sockopt::linger, 0);
      // Replies to a peer that has gone, or that does not read, are dropped rather
      // than blocking the loop or queueing without bound.
      socket.set(zmq::sockopt::router_mandatory, 0);
      socket.set(zmq::sockopt::sndhwm, send_queue);
      // A connection that has not completed CURVE within 5 s is closed, so idle
      // TCP connections cannot pile up; ZMTP heartbeats find peers that vanished.
      socket.set(zmq::sockopt::handshake_ivl, 5000);
      socket.set(zmq::sockopt::heartbeat_ivl, 10000);
      socket.set(zmq::sockopt::heartbeat_timeout, 30000);
    });
    if (!options.insecure) {
      RETURN_IF_ERROR(protocol::make_curve_server(socket, options.server_keys, domain));
    }
    const std::string address = "tcp://" + options.bind_address + ":" +
                                (port == 0 ? std::string("*") : std::to_string(port));
    RETURN_IF_ERROR(ZMQ_STATUS(socket.bind(address)).annotate("binding " + domain + " port"));
    *endpoint = socket.get(zmq::sockopt::last_endpoint);
    return Status::Ok();
  };
  // Agents always read (launches for a busy node must not be dropped); clients may not.
  RETURN_IF_ERROR(bind(g->agents_, options.agent_port, "agents", &g->agent_endpoint_, 100000));
  RETURN_IF_ERROR(bind(g->clients_, options.client_port, "clients", &g->client_endpoint_,
                       options.client_send_queue));
  if (options.ingress_port >= 0) {
    RETURN_IF_ERROR(bind(g->ingresses_, options.ingress_port, "ingresses", &g->ingress_endpoint_,
                         options.client_send_queue));
  }
  ZMQCHECK(g->outbox_pull_.bind(kOutboxEndpoint));
  ASSIGN_OR_RETURN(g->outbox_, ZmqOutbox::Create(context));
  return g;
}

void Gateway::run(actors::Inbound& inbound, const std::atomic<bool>& stop) {
  const bool ingress = !ingress_endpoint_.empty();
  zmq::pollitem_t items[] = {{agents_.handle(), 0, ZMQ_POLLIN, 0},
                             {clients_.handle(), 0, ZMQ_POLLIN, 0},
                             {outbox_pull_.handle(), 0, ZMQ_POLLIN, 0},
                             {ingresses_.handle(), 0, ZMQ_POLLIN, 0}};
  while (!stop) {
    try {
      zmq::poll(items, ingress ? 4 : 3, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() == EINTR) continue;
      spdlog::error("gateway: poll failed: {}", e.what());
      continue;
    }
    // Drain each socket in bounded batches so no side starves the others.
    for (int i = 0; i < 256 && (agents_.get(zmq::sockopt::events) & ZMQ_POLLIN); ++i) {
      on_agent_frame(inbound);
    }
    for (int i = 0; i < 256 && (clients_.get(zmq::sockopt::events) & ZMQ_POLLIN); ++i) {
      on_client_frame(inbound);
    }
    for (int i = 0; ingress && i < 256 && (ingresses_.get(zmq::sockopt::events) & ZMQ_POLLIN);
         ++i) {
      on_ingress_frame(inbound);
    }
    for (int i = 0; i < 1024 && (outbox_pull_.get(zmq::sockopt::events) & ZMQ_POLLIN); ++i) {
      on_outbox_frame();
    }
  }
}

void Gateway::reject(const char* port, const std::string& identity, const Status& why) {
  ++rejected_;
  // Logged at warn for the first few, then sampled: a flood must not flood the log.
  if (rejected_ <= 10 || rejected_ % 1000 == 0) {
    spdlog::warn("gateway: rejected frame #{} on {} port: {}", rejected_, port, why.message());
  }
}

namespace {

// Decodes the envelope's body as T and hands it to `deliver`; a body that does not
// decode is the frame's error and reaches no actor.
template <typename T, typename Deliver>
Status decoded(const protocol::Envelope& envelope, const protocol::DecodeLimits& limits,
               Deliver deliver) {
  auto body = protocol::decode_body<T>(envelope, limits);
  if (!body.ok()) return body.status();
  deliver(std::move(*body));
  return Status::Ok();
}

Status not_accepted(MessageKind kind, const char* port) {
  return InvalidArgument(std::string(protocol::kind_name(kind)) + " is not accepted on the " +
                         port + " port");
}

}  // namespace

Status Gateway::check_key(const protocol::Envelope& e, const char* domain,
                          const std::string* node) {
  if (keys_ == nullptr) return Status::Ok();
  const auto grant = keys_->grant(domain, e.user_id);
  if (!grant) {
    return PermissionDenied("the key " + e.user_id + " is no longer allowed in domain " + domain);
  }
  if (node == nullptr) return Status::Ok();
  if (grant->node.empty()) {
    return PermissionDenied("agent key " + e.user_id +
                            " is not bound to a node name; make agent keys with `cadre keys "
                            "generate --node NAME`");
  }
  if (grant->node != *node) {
    return PermissionDenied("agent key " + e.user_id + " may register only as node '" +
                            grant->node + "', not " + spec::quote_value(*node));
  }
  return Status::Ok();
}

// Registration and heartbeats come from any authenticated agent connection;
// everything else only from the connection registered as a node.
Status Gateway::route_agent(const protocol::Envelope& e, actors::Inbound& inbound) {
  const auto& h = e.header;
  const std::string& identity = e.identity;
  if (h.kind != MessageKind::kRegister) RETURN_IF_ERROR(check_key(e, "agents"));
  switch (h.kind) {
    case MessageKind::kRegister: {
      auto body = protocol::decode_body<protocol::RegisterRequest>(e, limits_);
      if (!body.ok()) return body.status();
      const Status bound = check_key(e, "agents", &body->name);
      if (!bound.ok()) {
        // An allowed key asking for a name that is not its own: tell the agent's
        // operator, and log it here, every time (it cannot flood: the key is known).
        spdlog::error("gateway: registration refused: {}", bound.message());
        reply_error(agents_, identity, h.id, bound);
        return Status::Ok();
      }
      inbound.agent_register(identity, h.id, std::move(*body));
      return Status::Ok();
    }
    case MessageKind::kHeartbeat:
      return decoded<protocol::Heartbeat>(
          e, limits_, [&](auto b) { inbound.agent_heartbeat(identity, h.epoch, std::move(b)); });
    default:
      break;
  }
  auto node_it = identity_node_.find(identity);
  if (node_it == identity_node_.end()) {
    return FailedPrecondition(std::string(protocol::kind_name(h.kind)) +
                              " from an unregistered connection");
  }
  const std::string& node = node_it->second;
  switch (h.kind) {
    case MessageKind::kReplicaStarted:
      return decoded<protocol::ReplicaStarted>(
          e, limits_, [&](auto b) { inbound.replica_started(node, h.epoch, std::move(b)); });
    case MessageKind::kReplicaExited:
      return decoded<protocol::ReplicaExited>(
          e, limits_, [&](auto b) { inbound.replica_exited(node, h.epoch, std::move(b)); });
    case MessageKind::kMetrics:
      return decoded<protocol::MetricsReport>(
          e, limits_, [&](auto b) { inbound.metrics(node, h.epoch, std::move(b)); });
    case MessageKind::kLogsChunk:
      return decoded<protocol::LogsChunk>(
          e, limits_, [&](auto b) { inbound.logs_chunk(h.reply_to, std::move(b)); });
    case MessageKind::kReplicaReady:
      return decoded<protocol::ReplicaReadiness>(
          e, limits_, [&](auto b) { inbound.replica_ready(node, h.epoch, std::move(b)); });
    case MessageKind::kReplicaFilesRemoved:
      return decoded<protocol::ReplicaFilesRemoved>(
          e, limits_, [&](auto b) { inbound.replica_files_removed(node, std::move(b)); });
    default:
      return not_accepted(h.kind, "agent");
  }
}

Status Gateway::route_client(const protocol::Envelope& e, actors::Inbound& inbound) {
  RETURN_IF_ERROR(check_key(e, "clients"));
  actors::ClientRef client{e.identity, e.header.id, "", false};
  if (keys_ != nullptr) {
    // The key's scope travels with the request; the manager enforces it.
    if (const auto grant = keys_->grant("clients", e.user_id)) client.ns = grant->ns;
  }
  switch (e.header.kind) {
    case MessageKind::kApply:
      return decoded<protocol::ApplyRequest>(e, limits_,
                                             [&](auto b) { inbound.apply(client, std::move(b)); });
    case MessageKind::kGet:
      return decoded<protocol::GetRequest>(e, limits_,
                                           [&](auto b) { inbound.get(client, std::move(b)); });
    case MessageKind::kDelete:
      return decoded<protocol::DeleteRequest>(
          e, limits_, [&](auto b) { inbound.remove(client, std::move(b)); });
    case MessageKind::kLogs:
      return decoded<protocol::LogsRequest>(e, limits_,
                                            [&](auto b) { inbound.logs(client, std::move(b)); });
    case MessageKind::kTokenCreate:
      return decoded<protocol::TokenCreateRequest>(
          e, limits_, [&](auto b) { inbound.create_token(client, std::move(b)); });
    case MessageKind::kRetry:
      return decoded<protocol::RetryRequest>(e, limits_,
                                             [&](auto b) { inbound.retry(client, std::move(b)); });
    case MessageKind::kMetricsHistory:
      return decoded<protocol::MetricsHistoryRequest>(
          e, limits_, [&](auto b) { inbound.metrics_history(client, std::move(b)); });
    case MessageKind::kCordon:
      return decoded<protocol::CordonRequest>(
          e, limits_, [&](auto b) { inbound.cordon(client, std::move(b)); });
    case MessageKind::kSuspend:
      return decoded<protocol::SuspendRequest>(
          e, limits_, [&](auto b) { inbound.suspend(client, std::move(b)); });
    default:
      return not_accepted(e.header.kind, "client");
  }
}

// Ingresses ask for routes, and make the API calls of users they authenticated:
// each runs as the client request of its verb, scoped to the user's namespace, and
// is answered on this port. An ingress key cannot act for the whole cluster.
Status Gateway::route_ingress(const protocol::Envelope& e, actors::Inbound& inbound) {
  RETURN_IF_ERROR(check_key(e, "ingresses"));
  const actors::ClientRef ingress{e.identity, e.header.id, "", false};
  if (e.header.kind == MessageKind::kRoutes) {
    return decoded<protocol::RoutesRequest>(e, limits_,
                                            [&](auto b) { inbound.routes(ingress, std::move(b)); });
  }
  if (e.header.kind != MessageKind::kApi) return not_accepted(e.header.kind, "ingress");
  auto call = protocol::decode_body<protocol::ApiRequest>(e, limits_);
  if (!call.ok()) return call.status();
  if (call->ns.empty()) return InvalidArgument("an API call needs the user's namespace");
  const actors::ClientRef user{e.identity, e.header.id, call->ns, true};
  if (call->verb == "get") {
    inbound.get(user, std::move(call->get));
  } else if (call->verb == "apply") {
    inbound.apply(user, std::move(call->apply));
  } else if (call->verb == "delete") {
    inbound.remove(user, std::move(call->remove));
  } else if (call->verb == "logs") {
    inbound.logs(user, std::move(call->logs));
  } else if (call->verb == "metrics") {
    inbound.metrics_history(user, std::move(call->metrics));
  } else if (call->verb == "suspend") {
    inbound.suspend(user, std::move(call->suspend));
  } else {
    return InvalidArgument("unknown API verb '" + call->verb.substr(0, 32) + "'");
  }
  spdlog::debug("gateway: api {} for user {} in namespace {}", call->verb, call->user, call->ns);
  return Status::Ok();
}

void Gateway::on_ingress_frame(actors::Inbound& inbound) {
  std::string identity;
  auto envelope = protocol::recv_envelope(ingresses_, true, limits_, &identity);
  Status status = envelope.ok() ? route_ingress(*envelope, inbound) : envelope.status();
  if (status.ok()) count("ingresses", envelope->header.kind);
  if (status.ok() || status.code() == StatusCode::kUnavailable) return;
  reject("ingress", identity, status);
  if (identity.empty()) return;
  reply_error(ingresses_, identity, envelope.ok() ? envelope->header.id : 0, status);
}

// Agents get no answer to a bad frame (they may be anyone's socket); it is counted.
void Gateway::on_agent_frame(actors::Inbound& inbound) {
  std::string identity;
  auto envelope = protocol::recv_envelope(agents_, true, limits_, &identity);
  Status status = envelope.ok() ? route_agent(*envelope, inbound) : envelope.status();
  if (status.ok()) count("agents", envelope->header.kind);
  if (!status.ok() && status.code() != StatusCode::kUnavailable) {
    reject("agent", identity, status);
  }
}

// A client's bad request is answered with an ErrorReply naming what was wrong.
void Gateway::on_client_frame(actors::Inbound& inbound) {
  std::string identity;
  auto envelope = protocol::recv_envelope(clients_, true, limits_, &identity);
  Status status = envelope.ok() ? route_client(*envelope, inbound) : envelope.status();
  if (status.ok()) count("clients", envelope->header.kind);
  if (status.ok() || status.code() == StatusCode::kUnavailable) return;
  reject("client", identity, status);
  if (identity.empty()) return;
  reply_error(clients_, identity, envelope.ok() ? envelope->header.id : 0,
              status.code() == StatusCode::kPermissionDenied
                  ? status
                  : Status(status.code(), "bad request: " + status.message()));
}

void Gateway::reply_error(zmq::socket_t& socket, const std::string& identity, uint64_t reply_to,
                          const Status& why) {
  protocol::Header h;
  h.kind = MessageKind::kError;
  h.reply_to = reply_to;
  const Status sent = protocol::send_envelope(
      socket, identity, true, h,
      protocol::encode(protocol::ErrorReply{status_code_name(why.code()), why.message()}));
  // The peer may be gone already; its request is dropped either way.
  if (!sent.ok()) spdlog::debug("gateway: error reply not sent: {}", sent.message());
}

void Gateway::on_outbox_frame() {
  std::vector<zmq::message_t> parts;
  do {
    zmq::message_t part;
    if (!outbox_pull_.recv(part, zmq::recv_flags::dontwait)) break;
    parts.push_back(std::move(part));
  } while (parts.back().more());
  if (parts.size() != 4) return;  // our own frames: cannot happen
  const auto target = static_cast<OutboxTarget>(parts[0].data<char>()[0]);
  const std::string address = parts[1].to_string();
  auto send = [&](zmq::socket_t& socket, const std::string& identity) {
    try {
      socket.send(zmq::buffer(identity), zmq::send_flags::sndmore);
      socket.send(parts[2], zmq::send_flags::sndmore);
      socket.send(parts[3], zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      spdlog::warn("gateway: dropping reply: {}", e.what());
    }
  };
  switch (target) {
    case OutboxTarget::kRoute: {
      const std::string identity = parts[2].to_string();
      auto old = node_identity_.find(address);
      if (old != node_identity_.end()) identity_node_.erase(old->second);
      node_identity_[address] = identity;
      identity_node_[identity] = address;
      return;
    }
    case OutboxTarget::kAgentByNode: {
      auto it = node_identity_.find(address);
      if (it == node_identity_.end()) {
        spdlog::warn("gateway: no connection for node={}; message dropped", address);
        return;
      }
      return send(agents_, it->second);
    }
    case OutboxTarget::kAgentByIdentity:
      return send(agents_, address);
    case OutboxTarget::kClient:
      return send(clients_, address);
    case OutboxTarget::kIngress:
      return send(ingresses_, address);
  }
}

}  // namespace cadre::coordinator

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "actors/actors.h"
#include "actors/file_removals.h"
#include "protocol/prometheus_text.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace registry_shell {
namespace {

using Clock = std::chrono::steady_clock;
using protocol::MessageKind;
using protocol::NodeState;

struct NodeEntry {
  protocol::RegisterRequest info;
  std::string identity;  // ROUTER identity of the current connection
  uint64_t epoch = 0;
  NodeState state = NodeState::kReady;
  Clock::time_point last_seen;
  int64_t last_seen_ms = 0;
  std::vector<std::string> running;  // uids alive there, as its last heartbeat said
  bool cordoned = false;             // cadre cordon: the scheduler places nothing new here
};

struct RegistryState {
  ActorContext ctx;
  std::map<std::string, NodeEntry> nodes;
  FileRemovals removals;         // deleted jobs' file removals some nodes have not answered
  bool warned_removals = false;  // that the oldest removals are being forgotten
};

// Health transitions are driven by a periodic tick rather than per-node timers:
// one timer for thousands of nodes, and a state change at most one tick late.
constexpr auto kTick = std::chrono::milliseconds(250);

void check_health(caf::stateful_actor<RegistryState>* self) {
  const ActorContext& ctx = self->state.ctx;
  const auto now = Clock::now();
  for (auto& [name, node] : self->state.nodes) {
    const auto silent = now - node.last_seen;
    if (node.state == NodeState::kReady && silent > ctx.policy.not_ready_after) {
      node.state = NodeState::kNotReady;
      spdlog::warn("registry: node={} NotReady (no heartbeat for {} ms)", name,
                   std::chrono::duration_cast<std::chrono::milliseconds>(silent).count());
      self->send(ctx.scheduler, node_state_atom::value, name, false);
    }
    if (node.state == NodeState::kNotReady && silent > ctx.policy.lost_after) {
      node.state = NodeState::kLost;
      spdlog::error("registry: node={} Lost; its replicas count as failed", name);
      self->send(ctx.manager, node_lost_atom::value, name);
      self->send(ctx.scheduler, node_lost_atom::value, name);
    }
  }
}

using Self = caf::stateful_actor<RegistryState>;

void refuse_registration(Self* self, const std::string& identity, uint64_t request_id,
                         const char* code, const std::string& why) {
  self->state.ctx.outbox->to_agent_identity(identity, 0, MessageKind::kError,
                                            protocol::encode(protocol::ErrorReply{code, why}),
                                            request_id);
}

NodeCapacity capacity_of(const protocol::RegisterRequest& request, uint64_t epoch) {
  NodeCapacity capacity;
  capacity.name = request.name;
  capacity.address = request.address;
  capacity.epoch = epoch;
  capacity.cpu_millis = request.cpu_millis;
  capacity.memory_bytes = request.memory_bytes;
  capacity.gpus = request.gpus;
  capacity.port_min = request.port_min;
  capacity.port_max = request.port_max;
  capacity.max_message_bytes = request.max_message_bytes;
  capacity.labels = request.labels;
  return capacity;
}

// Stores what the node offers, so that a restarted coordinator counts it (toward
// what could ever fit) before its agent is back. Nothing waits for the write: a
// node it misses is learnt again when its agent registers.
void remember(Self* self, const protocol::RegisterRequest& request) {
  const std::string name = request.name;
  self->request(self->state.ctx.store, self->state.ctx.policy.request_timeout, put_atom::value,
                request)
      .then(
          [=](const Status& s) {
            if (!s.ok()) spdlog::warn("registry: node={} not stored: {}", name, s.to_string());
          },
          [=](const caf::error& e) {
            spdlog::warn("registry: node={} not stored: {}", name, caf::to_string(e));
          });
}

// The nodes the store remembers, NotReady until their agents register again: they
// count toward what could ever fit (a gang waiting for the whole cluster must not
// fail because one agent reconnected first) but get nothing placed.
void restore_known(Self* self, std::vector<protocol::RegisterRequest> known,
                   const std::vector<std::string>& cordoned) {
  const auto now = Clock::now();
  std::vector<NodeCapacity> capacities;
  for (auto& request : known) {
    auto& node = self->state.nodes[request.name];
    node.info = std::move(request);
    node.state = NodeState::kNotReady;
    node.last_seen = now;  // silent since the restart: Lost after lost_after
    node.cordoned = std::find(cordoned.begin(), cordoned.end(), node.info.name) != cordoned.end();
    capacities.push_back(capacity_of(node.info, 0));
  }
  // All in one message: a gang restored meanwhile must not meet only some of them
  // (it would look larger than the cluster and fail Unschedulable).
  if (!capacities.empty()) {
    self->send(self->state.ctx.scheduler, node_up_atom::value, std::move(capacities));
  }
  for (const auto& [name, node] : self->state.nodes) {
    if (node.cordoned) self->send(self->state.ctx.scheduler, cordon_atom::value, name, true);
  }
  if (!self->state.nodes.empty()) {
    spdlog::info("registry: {} known nodes NotReady until their agents register again",
                 self->state.nodes.size());
  }
}

// Makes the store hold what `removals` holds (each write on its own; a failure is
// logged, and costs only a resend after a restart).
void store_removals(Self* self, const FileRemovals::Writes& writes) {
  auto& st = self->state;
  const auto warn = [](const std::string& prefix) {
    return [=](const caf::error& e) {
      spdlog::warn("registry: the file removal of {} not stored: {}", prefix, caf::to_string(e));
    };
  };
  for (const auto& record : writes.put) {
    self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, record)
        .then([](const Status&) {}, warn(record.files.uid_prefix));
  }
  for (const auto& prefix : writes.erase) {
    self->request(st.ctx.store, st.ctx.policy.request_timeout, delete_atom::value,
                  files_atom::value, prefix)
        .then([](const Status&) {}, warn(prefix));
  }
  if (writes.forgot_oldest && !st.warned_removals) {
    st.warned_removals = true;
    spdlog::warn(
        "registry: {} deleted jobs' file removals still await nodes' answers (is a node gone "
        "for good? cadre delete node/NAME); forgetting the oldest",
        FileRemovals::kDefaultCapacity);
  }
}

// A deleted job's files may be on any node that ever ran one of its replicas (a
// restarted replica can have moved), and the job keeps no such list: every node
// with a live registration is told (an agent without them answers all the same),
// and every known node must answer before the removal is forgotten.
void remove_replica_files(Self* self, const protocol::RemoveReplicaFiles& files) {
  auto& st = self->state;
  const std::string body = protocol::encode(files);
  std::vector<std::string> known;
  for (const auto& [name, node] : st.nodes) {
    known.push_back(name);
    if (node.epoch != 0 && node.state != NodeState::kLost) {
      st.ctx.outbox->to_agent(name, node.epoch, MessageKind::kRemoveReplicaFiles, body);
    }
  }
  store_removals(self, st.removals.add(files, known));
}

// The node's agent removed what the job with this uid prefix left there.
void files_removed(Self* self, const std::string& node, const std::string& uid_prefix) {
  store_removals(self, self->state.removals.answered(node, uid_prefix));
}

// A node registering gets again every removal it has not answered.
void resend_removals(Self* self, const std::string& node, uint64_t epoch) {
  const auto owed = self->state.removals.owed_to(node);
  for (const auto& files : owed) {
    self->state.ctx.outbox->to_agent(node, epoch, MessageKind::kRemoveReplicaFiles,
                                     protocol::encode(files));
  }
  if (!owed.empty()) {
    spdlog::info("registry: node={} sent {} deleted jobs' file removals it has not answered", node,
                 owed.size());
  }
}

// The registration is durable under `epoch`: record the node, answer the agent,
// and tell the scheduler (capacity) and the manager (replicas to adopt).
void registered(Self* self, const std::string& identity, uint64_t request_id,
                const protocol::RegisterRequest& request, uint64_t epoch) {
  auto& ctx = self->state.ctx;
  auto& node = self->state.nodes[request.name];
  const bool returning = !node.info.name.empty();
  node.info = request;
  node.identity = identity;
  node.epoch = epoch;
  node.state = NodeState::kReady;
  node.last_seen = Clock::now();
  node.last_seen_ms = wall_ms();
  node.running.clear();
  for (const auto& replica : request.running) node.running.push_back(replica.uid);
  spdlog::info("registry: node={} registered epoch={} cpu={}m memory={} gpus={}{}", request.name,
               epoch, request.cpu_millis, request.memory_bytes, request.gpus,
               returning ? " (re-registration)" : "");
  ctx.outbox->set_agent_route(request.name, identity);
  protocol::RegisterReply reply;
  reply.node = request.name;
  reply.epoch = epoch;
  reply.heartbeat_interval_ms = ctx.policy.heartbeat_interval.count();
  reply.lease_ms = ctx.policy.lease.count();
  ctx.outbox->agent(request.name, epoch, MessageKind::kRegisterReply, reply, 0, request_id);
  resend_removals(self, request.name, epoch);
  self->send(ctx.scheduler, node_up_atom::value, capacity_of(request, epoch));
  self->send(ctx.manager, adopt_atom::value, request.name, epoch, request.running);
  remember(self, request);
}

void on_register(Self* self, const std::string& identity, uint64_t request_id,
                 const protocol::RegisterRequest& request) {
  if (!spec::is_dns_label(request.name)) {
    return refuse_registration(self, identity, request_id, "InvalidArgument",
                               "node name '" + request.name + "' must be a DNS label");
  }
  // Every registration gets a fresh durable epoch: commands from before it are
  // refused by the agent, and replicas it reports are checked against the jobs.
  self->request(self->state.ctx.store, self->state.ctx.policy.request_timeout, epoch_atom::value)
      .then([=](uint64_t epoch) { registered(self, identity, request_id, request, epoch); },
            [=](const caf::error& error) {
              // The agent retries; without an epoch it must not run anything.
              spdlog::error("registry: node={} not registered: the store did not answer: {}",
                            request.name, caf::to_string(error));
              refuse_registration(self, identity, request_id, "Unavailable",
                                  "registration not stored; retry");
            });
}

void on_heartbeat(Self* self, const std::string& identity, uint64_t epoch,
                  const protocol::Heartbeat& beat) {
  auto it = self->state.nodes.find(beat.node);
  // A Lost node must register again: that is what fences its old commands.
  const bool known = it != self->state.nodes.end() && it->second.epoch == epoch &&
                     it->second.state != NodeState::kLost;
  if (known) {
    auto& node = it->second;
    node.last_seen = Clock::now();
    node.last_seen_ms = wall_ms();
    node.identity = identity;
    node.running = beat.running;
    if (node.state != NodeState::kReady) {
      spdlog::info("registry: node={} Ready again", beat.node);
      node.state = NodeState::kReady;
      self->send(self->state.ctx.scheduler, node_state_atom::value, beat.node, true);
    }
  }
  self->state.ctx.outbox->to_agent_identity(identity, epoch, MessageKind::kHeartbeatAck,
                                            protocol::encode(protocol::HeartbeatAck{known}));
}

// The cordon is in place: answer, and for a drain have the jobs running on the
// node restart elsewhere (the scheduler was told of the cordon before them).
void cordon_done(Self* self, const ClientRef& client, const protocol::CordonRequest& request,
                 const protocol::CordonReply& reply) {
  if (request.cordon && request.drain) {
    spdlog::info("registry: node={} drained: its jobs restart elsewhere", request.node);
    self->send(self->state.ctx.manager, evict_atom::value, request.node);
  }
  self->state.ctx.outbox->client(client, MessageKind::kCordonReply, reply);
}

// `cadre cordon` / `uncordon` / `drain`: stored before it is acknowledged or acted
// on, so a restarted coordinator keeps a node out of placement as it was told.
void on_cordon(Self* self, const ClientRef& client, const protocol::CordonRequest& request) {
  auto& st = self->state;
  auto it = st.nodes.find(request.node);
  if (it == st.nodes.end()) {
    return st.ctx.outbox->client_error(client, NotFound("node/" + request.node + " not found"));
  }
  protocol::CordonReply reply{request.node, request.cordon, false};
  if (it->second.cordoned == request.cordon) return cordon_done(self, client, request, reply);
  self->request(st.ctx.store, st.ctx.policy.request_timeout, cordon_atom::value, it->second.info,
                request.cordon)
      .then(
          [=](const Status& stored) mutable {
            auto& state = self->state;
            if (!stored.ok()) {
              return state.ctx.outbox->client_error(
                  client, Unavailable("cordon of node/" + request.node +
                                      " not stored: " + stored.message()));
            }
            auto node = state.nodes.find(request.node);
            if (node == state.nodes.end()) {  // deleted meanwhile (and its row with it)
              return state.ctx.outbox->client_error(
                  client, NotFound("node/" + request.node + " not found"));
            }
            reply.changed = node->second.cordoned != request.cordon;
            node->second.cordoned = request.cordon;
            self->send(state.ctx.scheduler, cordon_atom::value, request.node, request.cordon);
            spdlog::info("registry: node={} {}", request.node,
                         request.cordon ? "cordoned: nothing new is placed here" : "uncordoned");
            cordon_done(self, client, request, reply);
          },
          [=](const caf::error& e) {
            self->state.ctx.outbox->client_error(client,
                                                 Unavailable("cordon of node/" + request.node +
                                                             " not stored: " + caf::to_string(e)));
          });
}

// `cadre delete node/NAME`: forgets a node that is not Ready. A node still NotReady
// is declared lost first, so its replicas fail NodeLost and their jobs move on.
Status delete_node(Self* self, const std::string& name) {
  auto it = self->state.nodes.find(name);
  if (it == self->state.nodes.end()) return NotFound("node/" + name + " not found");
  if (it->second.state == NodeState::kReady) {
    return FailedPrecondition("node/" + name +
                              " is Ready (its agent heartbeats); stop the agent first: only "
                              "NotReady and Lost nodes are deleted");
  }
  if (it->second.state == NodeState::kNotReady) {
    self->send(self->state.ctx.manager, node_lost_atom::value, name);
  }
  self->state.nodes.erase(it);
  store_removals(self, self->state.removals.node_deleted(name));
  self->send(self->state.ctx.scheduler, delete_atom::value, name);
  self->request(self->state.ctx.store, self->state.ctx.policy.request_timeout, delete_atom::value,
                node_atom::value, name)
      .then([](const Status&) {},  // the store logs a failure; the node is gone here
            [=](const caf::error& e) {
              spdlog::warn("registry: node={} not deleted from the store: {}", name,
                           caf::to_string(e));
            });
  spdlog::info("registry: node={} deleted", name);
  return Status::Ok();
}

std::vector<protocol::NodeStatus> node_statuses(const RegistryState& state) {
  std::vector<protocol::NodeStatus> out;
  for (const auto& [name, node] : state.nodes) {
    protocol::NodeStatus s;
    s.name = name;
    s.address = node.info.address;
    s.state = node.state;
    s.cpu_millis = node.info.cpu_millis;
    s.memory_bytes = node.info.memory_bytes;
    s.gpus = node.info.gpus;
    s.gpu_models = node.info.gpu_models;
    s.labels = node.info.labels;
    s.epoch = node.epoch;
    s.last_heartbeat_ms = node.last_seen_ms;
    s.cordoned = node.cordoned;
    // A Lost node's replicas count as failed, whatever it last said.
    if (node.state != NodeState::kLost) s.replicas = node.running;
    out.push_back(std::move(s));
  }
  return out;
}

// Nodes by state (every state, zeros included, so an alert on Lost > 0 has a
// series to read) and what each node offers.
std::string scrape(const RegistryState& st) {
  std::map<std::string_view, int> by_state;
  for (const auto& [state, name] : protocol::EnumNames<NodeState>::kTable) by_state[name] = 0;
  int cordoned = 0;
  for (const auto& [name, node] : st.nodes) {
    by_state[protocol::enum_name(node.state)]++;
    cordoned += node.cordoned ? 1 : 0;
  }
  protocol::PrometheusText out;
  out.family("cadre_nodes", "gauge", "Registered nodes by state.");
  for (const auto& [state, n] : by_state)
    out.sample("cadre_nodes", {{"state", std::string(state)}}, n);
  out.family("cadre_nodes_cordoned", "gauge", "Nodes cordoned: nothing new is placed there.");
  out.sample("cadre_nodes_cordoned", {}, cordoned);
  out.family("cadre_node_capacity", "gauge",
             "What a node offers: cpu in cores, memory in bytes, gpu in devices.");
  for (const auto& [name, node] : st.nodes) {
    const auto& info = node.info;
    out.sample("cadre_node_capacity", {{"node", name}, {"resource", "cpu"}},
               static_cast<double>(info.cpu_millis) / 1000);
    out.sample("cadre_node_capacity", {{"node", name}, {"resource", "memory"}},
               static_cast<double>(info.memory_bytes));
    out.sample("cadre_node_capacity", {{"node", name}, {"resource", "gpu"}}, info.gpus);
  }
  return out.str();
}

caf::behavior registry(Self* self, ActorContext base, std::vector<protocol::RegisterRequest> known,
                       std::vector<FileRemovalRecord> removals, std::vector<std::string> cordoned) {
  self->state.ctx = std::move(base);
  restore_known(self, std::move(known), cordoned);
  self->state.removals.restore(std::move(removals));
  if (self->state.removals.size() > 0) {
    spdlog::info("registry: {} deleted jobs' file removals await nodes' answers",
                 self->state.removals.size());
  }
  self->delayed_send(self, kTick, tick_atom::value);
  return {
      [=](scrape_atom) { return scrape(self->state); },
      // The manager is spawned after the registry (each needs the other).
      [=](put_atom, caf::actor manager) { self->state.ctx.manager = std::move(manager); },
      [=](register_atom, const std::string& identity, uint64_t request_id,
          const protocol::RegisterRequest& request) {
        on_register(self, identity, request_id, request);
      },
      [=](heartbeat_atom, const std::string& identity, uint64_t epoch,
          const protocol::Heartbeat& beat) { on_heartbeat(self, identity, epoch, beat); },
      [=](tick_atom) {
        check_health(self);
        self->delayed_send(self, kTick, tick_atom::value);
      },
      [=](get_atom) { return node_statuses(self->state); },
      [=](delete_atom, const std::string& name) { return delete_node(self, name); },
      [=](cordon_atom, const ClientRef& client, const protocol::CordonRequest& request) {
        on_cordon(self, client, request);
      },
      [=](files_atom, const protocol::RemoveReplicaFiles& files) {
        remove_replica_files(self, files);
      },
      [=](files_atom, const std::string& node, const std::string& uid_prefix) {
        files_removed(self, node, uid_prefix);
      },
  };
}

}  // namespace
}  // namespace registry_shell

caf::actor spawn_registry(caf::actor_system& system, ActorContext ctx,
                          std::vector<protocol::RegisterRequest> known,
                          std::vector<FileRemovalRecord> removals,
                          std::vector<std::string> cordoned) {
  return system.spawn(registry_shell::registry, std::move(ctx), std::move(known),
                      std::move(removals), std::move(cordoned));
}

}  // namespace cadre::actors

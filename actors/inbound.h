// How the gateway hands decoded messages to the actors without touching CAF: the
// mirror of outbox.h. The gateway thread calls these; the actor implementation
// (make_actor_inbound in actors.h) turns each into one asynchronous message, so no
// call blocks the gateway. Tests give the gateway a recording implementation and
// check its routing rules with no actor system.
#pragma once

#include <cstdint>
#include <string>

#include "actors/outbox.h"
#include "protocol/messages.h"

namespace cadre::actors {

class Inbound {
 public:
  virtual ~Inbound() = default;

  // ---- agent port: any connection (registration and heartbeats) ----
  virtual void agent_register(const std::string& identity, uint64_t request_id,
                              protocol::RegisterRequest request) = 0;
  virtual void agent_heartbeat(const std::string& identity, uint64_t epoch,
                               protocol::Heartbeat beat) = 0;
  // ---- agent port: only from the connection registered as `node` ----
  virtual void replica_started(const std::string& node, uint64_t epoch,
                               protocol::ReplicaStarted started) = 0;
  virtual void replica_exited(const std::string& node, uint64_t epoch,
                              protocol::ReplicaExited exited) = 0;
  virtual void metrics(const std::string& node, uint64_t epoch, protocol::MetricsReport report) = 0;
  virtual void logs_chunk(uint64_t reply_to, protocol::LogsChunk chunk) = 0;
  virtual void replica_files_removed(const std::string& node,
                                     protocol::ReplicaFilesRemoved done) = 0;
  virtual void replica_ready(const std::string& node, uint64_t epoch,
                             protocol::ReplicaReadiness readiness) = 0;
  // ---- client port ----
  virtual void apply(const ClientRef& client, protocol::ApplyRequest request) = 0;
  virtual void get(const ClientRef& client, protocol::GetRequest request) = 0;
  virtual void remove(const ClientRef& client, protocol::DeleteRequest request) = 0;
  virtual void logs(const ClientRef& client, protocol::LogsRequest request) = 0;
  virtual void create_token(const ClientRef& client, protocol::TokenCreateRequest request) = 0;
  virtual void retry(const ClientRef& client, protocol::RetryRequest request) = 0;
  virtual void metrics_history(const ClientRef& client,
                               protocol::MetricsHistoryRequest request) = 0;
  virtual void cordon(const ClientRef& client, protocol::CordonRequest request) = 0;
  virtual void suspend(const ClientRef& client, protocol::SuspendRequest request) = 0;
  // ---- ingress port ----
  virtual void routes(const ClientRef& ingress, protocol::RoutesRequest request) = 0;
};

}  // namespace cadre::actors

// The Inbound the coordinator runs with: each call is one anonymous message to the
// registry or the manager (actors.h lists who handles what).
#include "actors/actors.h"

namespace cadre::actors {
namespace {

class ActorInbound final : public Inbound {
 public:
  explicit ActorInbound(ActorContext actors) : actors_(std::move(actors)) {}

  void agent_register(const std::string& identity, uint64_t request_id,
                      protocol::RegisterRequest request) override {
    caf::anon_send(actors_.registry, register_atom::value, identity, request_id,
                   std::move(request));
  }
  void agent_heartbeat(const std::string& identity, uint64_t epoch,
                       protocol::Heartbeat beat) override {
    caf::anon_send(actors_.registry, heartbeat_atom::value, identity, epoch, std::move(beat));
  }
  void replica_started(const std::string& node, uint64_t epoch,
                       protocol::ReplicaStarted started) override {
    caf::anon_send(actors_.manager, started_atom::value, node, epoch, std::move(started));
  }
  void replica_exited(const std::string& node, uint64_t epoch,
                      protocol::ReplicaExited exited) override {
    caf::anon_send(actors_.manager, exited_atom::value, node, epoch, std::move(exited));
  }
  void metrics(const std::string& node, uint64_t epoch, protocol::MetricsReport report) override {
    caf::anon_send(actors_.manager, metrics_atom::value, node, epoch, std::move(report));
  }
  void logs_chunk(uint64_t reply_to, protocol::LogsChunk chunk) override {
    caf::anon_send(actors_.manager, chunk_atom::value, reply_to, std::move(chunk));
  }
  void replica_files_removed(const std::string& node, protocol::ReplicaFilesRemoved done) override {
    caf::anon_send(actors_.registry, files_atom::value, node, std::move(done.uid_prefix));
  }
  void replica_ready(const std::string& node, uint64_t epoch,
                     protocol::ReplicaReadiness readiness) override {
    caf::anon_send(actors_.manager, ready_atom::value, node, epoch, std::move(readiness));
  }
  void routes(const ClientRef& ingress, protocol::RoutesRequest request) override {
    caf::anon_send(actors_.manager, routes_atom::value, ingress, std::move(request));
  }
  void create_token(const ClientRef& client, protocol::TokenCreateRequest request) override {
    caf::anon_send(actors_.manager, token_atom::value, client, std::move(request));
  }
  void retry(const ClientRef& client, protocol::RetryRequest request) override {
    caf::anon_send(actors_.manager, retry_atom::value, client, std::move(request));
  }
  void metrics_history(const ClientRef& client, protocol::MetricsHistoryRequest request) override {
    caf::anon_send(actors_.manager, metrics_atom::value, client, std::move(request));
  }
  void cordon(const ClientRef& client, protocol::CordonRequest request) override {
    caf::anon_send(actors_.manager, cordon_atom::value, client, std::move(request));
  }
  void suspend(const ClientRef& client, protocol::SuspendRequest request) override {
    caf::anon_send(actors_.manager, suspend_atom::value, client, std::move(request));
  }
  void apply(const ClientRef& client, protocol::ApplyRequest request) override {
    caf::anon_send(actors_.manager, apply_atom::value, client, std::move(request));
  }
  void get(const ClientRef& client, protocol::GetRequest request) override {
    caf::anon_send(actors_.manager, get_atom::value, client, std::move(request));
  }
  void remove(const ClientRef& client, protocol::DeleteRequest request) override {
    caf::anon_send(actors_.manager, delete_atom::value, client, std::move(request));
  }
  void logs(const ClientRef& client, protocol::LogsRequest request) override {
    caf::anon_send(actors_.manager, logs_atom::value, client, std::move(request));
  }

 private:
  ActorContext actors_;
};

}  // namespace

std::unique_ptr<Inbound> make_actor_inbound(const ActorContext& actors) {
  return std::make_unique<ActorInbound>(actors);
}

}  // namespace cadre::actors

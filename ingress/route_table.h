// The ingress's routing table: for every InferenceService, the share of requests
// each revision takes and the ready replicas of each, as the coordinator last
// sent them, plus the requests in flight on every replica. pick() chooses a
// revision by weight (the canary split) and, within it, the replica with the
// fewest requests in flight (least outstanding requests), skipping replicas a
// request already failed to reach. Tokens are checked here too, and notebooks'
// servers are looked up here for the notebook proxy.
//
// Thread-safety: every method may be called from any thread; one mutex guards the
// table, held only for lookups and swaps. In-flight counters are atomics that a
// Pick holds on to, so a table swap never loses a request's count.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::ingress {

// Requests in flight on one replica (address:port), shared by every table version.
struct EndpointLoad {
  std::atomic<int> in_flight{0};
};

// Why a request cannot be sent now but may soon: the ingress holds it (activator.h).
enum class PickWait {
  kNone,        // send it to address:port
  kColdStart,   // its revision is at zero replicas; one is starting
  kAtCapacity,  // every replica of its revision has containerConcurrency requests
};

struct Pick {
  PickWait wait = PickWait::kNone;  // not kNone: no endpoint was chosen
  std::string service;
  std::string ns;
  std::string revision;
  std::string replica;  // its job name
  std::string address;
  int port = 0;
  std::string token;  // the bearer token the replica asks
  std::chrono::milliseconds timeout{60000};
  int32_t container_concurrency = 0;   // the service's limit per replica; 0: none
  std::shared_ptr<EndpointLoad> load;  // holds the slot this pick took on its replica
  std::string key() const { return address + ":" + std::to_string(port); }
};

class RouteTable {
 public:
  // Replaces the table with the coordinator's (counters of replicas that stay are kept).
  void update(const protocol::RoutesReply& reply);
  uint64_t version() const;
  bool has_table() const { return version() != 0; }
  std::vector<std::string> services() const;
  bool has_service(const std::string& name) const;

  // NotFound: no such service; Unavailable: it has no ready replica (outside
  // `exclude`) and none is coming. A revision at zero replicas that starts on demand
  // stays in the draw: drawn, it gives a Pick that waits (kColdStart), as does one
  // whose replicas all have containerConcurrency requests in flight (kAtCapacity).
  // A Pick with an endpoint has taken a slot on it (load->in_flight, under the
  // table's lock, so the limit holds between threads); the caller gives it back
  // when the request ends. `u1`, `u2` are uniform in [0, 1): the revision draw and
  // the tie-break.
  Result<Pick> pick(const std::string& service, double u1, double u2,
                    const std::set<std::string>& exclude = {}) const;
  // Every revision that may be at zero replicas, as (service, revision): the
  // ingress reports their load even when idle, which is how they reach zero.
  std::vector<std::pair<std::string, std::string>> scale_to_zero_revisions() const;
  // Ok, or Unauthenticated-like PermissionDenied (401/403 at the front end):
  // `authorization` is the request's header value.
  enum class Auth { kOk, kMissing, kWrong, kOtherNamespace };
  Auth authorize(const std::string& service, const std::string& authorization) const;
  // The same for a caller already known to be of namespace `ns` (a browser session).
  Auth authorize_namespace(const std::string& service, const std::string& ns) const;
  // The namespace of a service in the table; nullopt for one it does not have.
  std::optional<std::string> service_namespace(const std::string& service) const;

  // A one-time login code's namespace, once: it is used up here and reported to
  // the coordinator (redeemed()), which ends it at every ingress. nullopt: no
  // such open code (never made, used, or past its 5 minutes).
  std::optional<std::string> redeem_login_code(const std::string& code);
  // Hashes of codes used here that the coordinator still lists.
  std::vector<std::string> redeemed() const;
  // The namespace a Cadre token (the bare token) may call; nullopt: not one.
  std::optional<std::string> token_namespace(const std::string& token) const;
  // A notebook by name, as the coordinator last said (names are cluster-wide).
  std::optional<protocol::NotebookRoute> notebook(const std::string& name) const;
  // Every notebook whose server answers (whose activity the ingress reads).
  std::vector<protocol::NotebookRoute> ready_notebooks() const;

 private:
  // A replica as pick() needs it, made once per table: its key for `exclude` and
  // its counter, so choosing one allocates nothing.
  struct Endpoint {
    const protocol::RouteEndpoint* route = nullptr;  // in its Service's route
    std::string key;                                 // address:port
    std::shared_ptr<EndpointLoad> load;
  };
  struct Service {
    protocol::ServiceRoute route;
    std::vector<std::vector<Endpoint>> endpoints;  // per revision, as route.revisions
  };

  mutable std::mutex mutex_;
  uint64_t version_ = 0;
  std::map<std::string, Service> services_;  // by name
  // token SHA-256 (hex) -> namespace
  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::shared_ptr<EndpointLoad>> loads_;  // by address:port
  std::map<std::string, protocol::NotebookRoute> notebooks_;    // by name
  std::map<std::string, protocol::IngressToken> login_codes_;   // open ones, by SHA-256
  std::set<std::string> redeemed_;                              // used here, by SHA-256
};

}  // namespace cadre::ingress

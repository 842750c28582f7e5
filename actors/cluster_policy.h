// Timings, limits and paths the actors follow; parsed once by the coordinator's config.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "actors/autoscaler.h"
#include "actors/queue_quota.h"

namespace cadre::actors {

// How a supervisor retries a write the store refused: backoff doubles from
// `initial` up to `max`; after `attempts` consecutive failures the workload fails
// (reason StoreUnavailable) and nothing that waited for the write happens.
struct StoreRetryPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
  int attempts = 8;
};

struct ClusterPolicy {
  std::chrono::milliseconds heartbeat_interval{1000};  // what agents are told to use
  std::chrono::milliseconds not_ready_after{5000};     // silence before NotReady
  std::chrono::milliseconds lost_after{15000};         // silence before Lost
  std::chrono::milliseconds kill_grace{10000};         // SIGTERM to SIGKILL, unless the spec says
  std::chrono::milliseconds log_read_timeout{5000};    // an agent that does not answer a log read
  // One actor asking another (the store, the registry, a job): past this the asker
  // gives up and answers whoever waits on it with an error instead of silence.
  std::chrono::milliseconds request_timeout{10000};
  StoreRetryPolicy store_retry;
  // A manifest's text is refused past this size before it is parsed; aliases and
  // nesting are bounded while it is read (protocol/spec/manifest_limits.h).
  int64_t max_manifest_bytes = 1 << 20;
  // Distinct metric names one job may report; samples under further names are
  // dropped (with one Warning event), so a job cannot grow the store without end.
  int max_metric_names = 64;
  // Points kept per series before older ones are thinned (actors/state_store.h).
  int metric_points_per_series = 2000;
  // Replies queued for one client that is not reading (ZMQ_SNDHWM per peer);
  // past this its replies are dropped, not buffered without end.
  int client_send_queue = 64;
  std::chrono::milliseconds lease{10000};  // agents' fencing lease (RegisterReply.lease_ms); 0: off
  std::string checkpoint_root;             // CADRE_CHECKPOINT_DIR = <root>/<namespace>/<job>
  AutoscalePolicy autoscale;               // inference services' autoscaler windows
  std::map<std::string, QueueQuota> queue_quotas;  // by schedulingPolicy.queue; others unlimited
  // How programs the cluster runs for users reach the client port (a notebook's
  // kernels get a client config with these): its endpoint and the coordinator's
  // public key (empty without CURVE).
  std::string client_endpoint;
  std::string server_public_key;
};

}  // namespace cadre::actors

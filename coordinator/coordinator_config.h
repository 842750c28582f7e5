// Every coordinator setting, declared once with its default and a one-line doc
// (Ray's ray_config_def.h habit). Parsed at start-up from flags and an optional
// YAML file (flags win), then passed down; nothing else reads the environment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/cluster_policy.h"
#include "protocol/status.h"

namespace cadre::coordinator {

struct CoordinatorConfig {
  static inline const actors::ClusterPolicy kPolicy{};  // the defaults below come from here
  // server.key and authorized/{agents,clients,ingresses}/*.pub
  std::string config_dir = "/etc/cadre";
  std::string state_dir = "/var/lib/cadre";  // SQLite state (cadre.db)
  std::string bind_address =
      "127.0.0.1";          // interface for both ports; other hosts need an explicit address
  int agent_port = 7070;    // agents' ROUTER port; 0 picks a free one
  int client_port = 7071;   // clients' ROUTER port; 0 picks a free one
  int ingress_port = 7072;  // ingresses' ROUTER port (routes only); 0 picks one; -1 none
  // Prometheus /metrics over HTTP on the bind address; 0 picks a free one; -1: none.
  int metrics_port = 7073;
  // Its bearer token; default <config_dir>/metrics.token, made (0600) when missing.
  std::string metrics_token_file;
  std::string endpoints_file;              // if set, the bound endpoints are written here (JSON)
  bool insecure = false;                   // disable CURVE and ZAP (testing only)
  int64_t max_message_bytes = 64ll << 20;  // ZMQ_MAXMSGSIZE: larger frames drop the connection
  // The actors' timings default to actors::ClusterPolicy's, declared there once.
  int64_t heartbeat_interval_ms =
      kPolicy.heartbeat_interval.count();                        // agents heartbeat this often
  int64_t not_ready_after_ms = kPolicy.not_ready_after.count();  // silence before NotReady
  int64_t lost_after_ms = kPolicy.lost_after.count();            // silence before Lost
  int64_t kill_grace_ms = kPolicy.kill_grace.count();  // SIGTERM to SIGKILL unless a spec says
  // An actor asking another gives up after this and the waiting client hears why.
  int64_t request_timeout_ms = kPolicy.request_timeout.count();
  int64_t max_manifest_bytes = kPolicy.max_manifest_bytes;  // larger applies are refused unread
  int max_metric_names = kPolicy.max_metric_names;  // per job; samples of more names dropped
  int metric_points_per_series = kPolicy.metric_points_per_series;  // older ones thinned past it
  int client_send_queue = kPolicy.client_send_queue;  // replies held for a client not reading
  // Agents kill their replicas after this long without a heartbeat ack, so nothing
  // runs twice once a node is declared Lost. -1: two thirds of lost_after_ms; 0: off.
  int64_t lease_ms = -1;
  // Shared folder for CADRE_CHECKPOINT_DIR (<root>/<namespace>/<job>), so a gang
  // restarted on other nodes resumes; empty: <state_dir>/checkpoints. Multi-host
  // clusters point it at a mount every node shares (NFS), like a Kubeflow PVC.
  std::string checkpoint_root;
  // Inference services' autoscaler (Knative's KPA): the windows load is averaged over.
  int64_t autoscale_stable_window_ms = kPolicy.autoscale.stable_window.count();
  int64_t autoscale_panic_window_ms = kPolicy.autoscale.panic_window.count();
  // What the placed gangs of one schedulingPolicy.queue may hold together, as
  // "QUEUE:cpu=N,memory=Q,gpu=N" (Kueue's nominalQuota), with an optional cohort,
  // borrowing limits and reclaim (actors/queue_quota.h); queues not named: unlimited.
  std::vector<std::string> queue_quota;
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off

  actors::ClusterPolicy policy() const;
  Status validate() const;
};

// Parses argv (and --config FILE). On --help prints usage and returns kOk with
// *exit_now = true. Errors name the flag or key and the value.
Result<CoordinatorConfig> parse_coordinator_config(int argc, char** argv, bool* exit_now);

}  // namespace cadre::coordinator

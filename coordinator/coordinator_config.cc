#include "coordinator/coordinator_config.h"

#include "protocol/config_file.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <set>

namespace cadre::coordinator {

actors::ClusterPolicy CoordinatorConfig::policy() const {
  actors::ClusterPolicy p;
  p.heartbeat_interval = std::chrono::milliseconds(heartbeat_interval_ms);
  p.not_ready_after = std::chrono::milliseconds(not_ready_after_ms);
  p.lost_after = std::chrono::milliseconds(lost_after_ms);
  p.kill_grace = std::chrono::milliseconds(kill_grace_ms);
  p.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  p.max_manifest_bytes = max_manifest_bytes;
  p.max_metric_names = max_metric_names;
  p.metric_points_per_series = metric_points_per_series;
  p.client_send_queue = client_send_queue;
  p.lease = std::chrono::milliseconds(lease_ms < 0 ? lost_after_ms * 2 / 3 : lease_ms);
  p.checkpoint_root = checkpoint_root.empty() ? state_dir + "/checkpoints" : checkpoint_root;
  p.autoscale.stable_window = std::chrono::milliseconds(autoscale_stable_window_ms);
  p.autoscale.panic_window = std::chrono::milliseconds(autoscale_panic_window_ms);
  for (const auto& text : queue_quota) {
    auto quota = actors::parse_queue_quota(text);  // validate() refused any that fail
    if (quota.ok()) p.queue_quotas[quota->first] = quota->second;
  }
  return p;
}

Status CoordinatorConfig::validate() const {
  std::set<std::string> queues;
  if (queue_quota.size() > actors::kMaxQueueQuotas) {
    return InvalidArgument("queue-quota: " + std::to_string(queue_quota.size()) +
                           " queues; at most " + std::to_string(actors::kMaxQueueQuotas));
  }
  for (const auto& text : queue_quota) {
    ASSIGN_OR_RETURN(auto quota, actors::parse_queue_quota(text));
    if (!queues.insert(quota.first).second) {
      return InvalidArgument("queue-quota: queue " + quota.first + " is given twice");
    }
  }
  if (agent_port < 0 || agent_port > 65535) {
    return InvalidArgument("agent-port: " + std::to_string(agent_port) + " is not a port");
  }
  if (client_port < 0 || client_port > 65535) {
    return InvalidArgument("client-port: " + std::to_string(client_port) + " is not a port");
  }
  if (ingress_port < -1 || ingress_port > 65535) {
    return InvalidArgument("ingress-port: " + std::to_string(ingress_port) +
                           " is not a port (or -1 for none)");
  }
  if (metrics_port < -1 || metrics_port > 65535) {
    return InvalidArgument("metrics-port: " + std::to_string(metrics_port) +
                           " is not a port (or -1 for none)");
  }
  if (heartbeat_interval_ms <= 0) return InvalidArgument("heartbeat-interval-ms: must be > 0");
  if (autoscale_panic_window_ms <= 0 || autoscale_stable_window_ms < autoscale_panic_window_ms) {
    return InvalidArgument(
        "autoscale-panic-window-ms: must be > 0 and at most autoscale-stable-window-ms");
  }
  if (not_ready_after_ms <= heartbeat_interval_ms) {
    return InvalidArgument("not-ready-after-ms: must exceed heartbeat-interval-ms (" +
                           std::to_string(heartbeat_interval_ms) + ")");
  }
  if (lost_after_ms <= not_ready_after_ms) {
    return InvalidArgument("lost-after-ms: must exceed not-ready-after-ms (" +
                           std::to_string(not_ready_after_ms) + ")");
  }
  if (lease_ms > 0 && (lease_ms <= heartbeat_interval_ms || lease_ms >= lost_after_ms)) {
    return InvalidArgument("lease-ms: " + std::to_string(lease_ms) +
                           " must exceed heartbeat-interval-ms (" +
                           std::to_string(heartbeat_interval_ms) +
                           ") and be below lost-after-ms (" + std::to_string(lost_after_ms) +
                           "): replicas must be dead before their node is declared Lost");
  }
  if (lease_ms < -1) return InvalidArgument("lease-ms: must be -1 (derived), 0 (off) or > 0");
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), log_level) == std::end(kLevels)) {
    return InvalidArgument("log-level: '" + log_level +
                           "' is not one of trace, debug, info, warn, error, critical, off");
  }
  if (max_message_bytes < 4096) return InvalidArgument("max-message-bytes: must be >= 4096");
  if (request_timeout_ms <= 0) return InvalidArgument("request-timeout-ms: must be > 0");
  if (max_manifest_bytes < 1024 || max_manifest_bytes > max_message_bytes) {
    return InvalidArgument("max-manifest-bytes: must be between 1024 and max-message-bytes (" +
                           std::to_string(max_message_bytes) + ")");
  }
  if (max_metric_names < 1 || metric_points_per_series < 10 || client_send_queue < 1) {
    return InvalidArgument(
        "max-metric-names must be >= 1, metric-points-per-series >= 10 and client-send-queue "
        ">= 1 (got " +
        std::to_string(max_metric_names) + ", " + std::to_string(metric_points_per_series) + ", " +
        std::to_string(client_send_queue) + ")");
  }
  return Status::Ok();
}

namespace {

// Every setting as a flag (and, through --config, a YAML key), with its default.
void declare_flags(CLI::App& app, CoordinatorConfig& c, std::string& config_file) {
  app.add_option("--config", config_file, "YAML file with any of the settings below (flags win)");
  app.add_option("--config-dir", c.config_dir,
                 "folder with server.key and authorized/{agents,clients,ingresses}/*.pub")
      ->capture_default_str();
  app.add_option("--state-dir", c.state_dir, "folder for the SQLite state")->capture_default_str();
  app.add_option("--bind-address", c.bind_address, "interface the ports bind to")
      ->capture_default_str();
  app.add_option("--agent-port", c.agent_port, "agents' port (0: pick a free one)")
      ->capture_default_str();
  app.add_option("--client-port", c.client_port, "clients' port (0: pick a free one)")
      ->capture_default_str();
  app.add_option("--ingress-port", c.ingress_port,
                 "ingresses' port, routes only (0: pick a free one; -1: none)")
      ->capture_default_str();
  app.add_option("--metrics-port", c.metrics_port,
                 "Prometheus /metrics over HTTP, with a bearer token (0: pick a free one; -1: "
                 "none)")
      ->capture_default_str();
  app.add_option("--metrics-token-file", c.metrics_token_file,
                 "the /metrics bearer token (default CONFIG_DIR/metrics.token, made when "
                 "missing)");
  app.add_option("--endpoints-file", c.endpoints_file, "write bound endpoints here as JSON");
  app.add_flag("--insecure", c.insecure, "disable CURVE authentication (testing only)");
  app.add_option("--max-message-bytes", c.max_message_bytes, "largest accepted frame")
      ->capture_default_str();
  app.add_option("--heartbeat-interval-ms", c.heartbeat_interval_ms, "agent heartbeat period")
      ->capture_default_str();
  app.add_option("--not-ready-after-ms", c.not_ready_after_ms, "silence before NotReady")
      ->capture_default_str();
  app.add_option("--lost-after-ms", c.lost_after_ms, "silence before Lost")->capture_default_str();
  app.add_option("--kill-grace-ms", c.kill_grace_ms, "SIGTERM to SIGKILL grace")
      ->capture_default_str();
  app.add_option("--request-timeout-ms", c.request_timeout_ms,
                 "how long one coordinator actor waits for another before answering the "
                 "client with an error")
      ->capture_default_str();
  app.add_option("--max-manifest-bytes", c.max_manifest_bytes,
                 "largest manifest accepted by apply; checked before it is parsed")
      ->capture_default_str();
  app.add_option("--max-metric-names", c.max_metric_names,
                 "distinct metric names one job may report; samples of more are dropped")
      ->capture_default_str();
  app.add_option("--metric-points-per-series", c.metric_points_per_series,
                 "points kept per job, replica and metric name; older ones are thinned")
      ->capture_default_str();
  app.add_option("--client-send-queue", c.client_send_queue,
                 "replies queued for a client that does not read them; more are dropped")
      ->capture_default_str();
  app.add_option("--lease-ms", c.lease_ms,
                 "agents kill their replicas after this long without contact (-1: 2/3 of "
                 "lost-after-ms, 0: off)")
      ->capture_default_str();
  app.add_option("--checkpoint-root", c.checkpoint_root,
                 "shared folder for CADRE_CHECKPOINT_DIR (default: <state-dir>/checkpoints)");
  app.add_option("--autoscale-stable-window-ms", c.autoscale_stable_window_ms,
                 "inference services scale to the load averaged over this window")
      ->capture_default_str();
  app.add_option("--autoscale-panic-window-ms", c.autoscale_panic_window_ms,
                 "and scale out fast when this short window asks for twice the replicas")
      ->capture_default_str();
  app.add_option("--queue-quota", c.queue_quota,
                 "QUEUE:cpu=N,memory=Q,gpu=N[,cohort=C,borrow-cpu=N,...,reclaim=Any]: what "
                 "the placed gangs of one queue may hold together, and the cohort whose "
                 "unused quota it borrows (repeat per queue; others unlimited)");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
}

}  // namespace

Result<CoordinatorConfig> parse_coordinator_config(int argc, char** argv, bool* exit_now) {
  *exit_now = false;
  CoordinatorConfig c;
  CLI::App app{"cadre-coordinator: schedules Cadre jobs onto agents"};
  std::string config_file;  // read by config::parse_command_line
  declare_flags(app, c, config_file);
  ASSIGN_OR_RETURN(config::Parsed parsed, config::parse_command_line(app, argc, argv, std::cout));
  if (parsed == config::Parsed::kHelpShown) {
    *exit_now = true;
    return c;
  }
  RETURN_IF_ERROR(c.validate());
  return c;
}

}  // namespace cadre::coordinator

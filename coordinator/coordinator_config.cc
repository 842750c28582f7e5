#include "coordinator/coordinator_config.h"

#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>

namespace cadre::coordinator {

actors::ClusterPolicy CoordinatorConfig::policy() const {
  actors::ClusterPolicy p;
  p.heartbeat_interval = std::chrono::milliseconds(heartbeat_interval_ms);
  p.not_ready_after = std::chrono::milliseconds(not_ready_after_ms);
  p.lost_after = std::chrono::milliseconds(lost_after_ms);
  p.kill_grace = std::chrono::milliseconds(kill_grace_ms);
  p.lease = std::chrono::milliseconds(lease_ms < 0 ? lost_after_ms * 2 / 3 : lease_ms);
  p.checkpoint_root = checkpoint_root.empty() ? state_dir + "/checkpoints" : checkpoint_root;
  return p;
}

Status CoordinatorConfig::validate() const {
  if (agent_port < 0 || agent_port > 65535) {
    return InvalidArgument("agent-port: " + std::to_string(agent_port) + " is not a port");
  }
  if (client_port < 0 || client_port > 65535) {
    return InvalidArgument("client-port: " + std::to_string(client_port) + " is not a port");
  }
  if (heartbeat_interval_ms <= 0) return InvalidArgument("heartbeat-interval-ms: must be > 0");
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
  return Status::Ok();
}

Result<CoordinatorConfig> parse_coordinator_config(int argc, char** argv, bool* exit_now) {
  *exit_now = false;
  CoordinatorConfig c;
  CLI::App app{"cadre-coordinator: schedules Cadre jobs onto agents"};
  std::string config_file;
  app.add_option("--config", config_file, "YAML file with any of the settings below (flags win)");
  app.add_option("--config-dir", c.config_dir,
                 "folder with server.key and authorized/{agents,clients}/*.pub")
      ->capture_default_str();
  app.add_option("--state-dir", c.state_dir, "folder for the SQLite state")->capture_default_str();
  app.add_option("--bind-address", c.bind_address, "interface both ports bind to")
      ->capture_default_str();
  app.add_option("--agent-port", c.agent_port, "agents' port (0: pick a free one)")
      ->capture_default_str();
  app.add_option("--client-port", c.client_port, "clients' port (0: pick a free one)")
      ->capture_default_str();
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
  app.add_option("--lease-ms", c.lease_ms,
                 "agents kill their replicas after this long without contact (-1: 2/3 of "
                 "lost-after-ms, 0: off)")
      ->capture_default_str();
  app.add_option("--checkpoint-root", c.checkpoint_root,
                 "shared folder for CADRE_CHECKPOINT_DIR (default: <state-dir>/checkpoints)");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    *exit_now = true;
    return c;
  } catch (const CLI::ParseError& e) {
    return InvalidArgument(e.what());
  }
  if (!config_file.empty()) {
    YAML::Node yaml;
    try {
      yaml = YAML::LoadFile(config_file);
    } catch (const YAML::Exception& e) {
      return InvalidArgument("--config " + config_file + ": " + e.what());
    }
    // Re-parse with the file's values as defaults so explicit flags still win.
    CoordinatorConfig from_file = c;
    try {
      for (const auto& entry : yaml) {
        const std::string key = entry.first.as<std::string>();
        const CLI::Option* flag = app.get_option_no_throw("--" + key);
        if (flag == nullptr || key == "config") {
          return InvalidArgument("--config " + config_file + ": unknown key '" + key + "'");
        }
        if (flag->count() > 0) continue;  // the flag was given explicitly
        const YAML::Node& v = entry.second;
        if (key == "config-dir")
          from_file.config_dir = v.as<std::string>();
        else if (key == "state-dir")
          from_file.state_dir = v.as<std::string>();
        else if (key == "bind-address")
          from_file.bind_address = v.as<std::string>();
        else if (key == "agent-port")
          from_file.agent_port = v.as<int>();
        else if (key == "client-port")
          from_file.client_port = v.as<int>();
        else if (key == "endpoints-file")
          from_file.endpoints_file = v.as<std::string>();
        else if (key == "insecure")
          from_file.insecure = v.as<bool>();
        else if (key == "max-message-bytes")
          from_file.max_message_bytes = v.as<int64_t>();
        else if (key == "heartbeat-interval-ms")
          from_file.heartbeat_interval_ms = v.as<int64_t>();
        else if (key == "not-ready-after-ms")
          from_file.not_ready_after_ms = v.as<int64_t>();
        else if (key == "lost-after-ms")
          from_file.lost_after_ms = v.as<int64_t>();
        else if (key == "kill-grace-ms")
          from_file.kill_grace_ms = v.as<int64_t>();
        else if (key == "lease-ms")
          from_file.lease_ms = v.as<int64_t>();
        else if (key == "checkpoint-root")
          from_file.checkpoint_root = v.as<std::string>();
        else if (key == "log-level")
          from_file.log_level = v.as<std::string>();
        else
          return InvalidArgument("--config " + config_file + ": unknown key '" + key + "'");
      }
    } catch (const YAML::Exception& e) {
      return InvalidArgument("--config " + config_file + ": " + e.what());
    }
    c = from_file;
  }
  RETURN_IF_ERROR(c.validate());
  return c;
}

}  // namespace cadre::coordinator

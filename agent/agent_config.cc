#include "agent/agent_config.h"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>

#include "protocol/config_file.h"
#include "protocol/digest.h"

namespace cadre::agent {
namespace {

std::string hostname() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof(buffer) - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

// Node names are DNS labels: "GPU-2.example.com" registers as "gpu-2".
std::string default_node_name() {
  std::string name = hostname();
  name = name.substr(0, name.find('.'));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.empty() ? "localhost" : name;
}

// The single declaration of every setting.
void declare_flags(CLI::App& app, AgentConfig& c, std::vector<std::string>& labels) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config", c.config_file,
                 "YAML file with any of these settings as keys (flags override it)");
  app.add_option("--coordinator", c.coordinator, "Coordinator agent endpoint")
      ->capture_default_str();
  app.add_option("--server-key", c.server_key,
                 "Coordinator's public key file (.pub); required unless --insecure");
  app.add_option("--key", c.key, "This agent's key pair file (.key); required unless --insecure");
  app.add_flag("--insecure", c.insecure,
               "Disable CURVE encryption and authentication (explicit opt-out)");
  app.add_option("--name", c.name,
                 "Node name, a DNS label unique in the cluster (default: the short hostname)");
  app.add_option("--address", c.address,
                 "Host or IP other nodes use to reach this one (default: the hostname)");
  app.add_option("--work-dir", c.work_dir, "Folder for replica dirs, logs and checkpoints")
      ->capture_default_str();
  app.add_option("--cpus", c.cpus, "Allocatable CPU cores, fractional allowed (default: all)");
  app.add_option("--memory", c.memory,
                 "Allocatable memory: bytes or 512Mi, 4Gi, ... (default: MemTotal)");
  app.add_option("--gpus", c.gpus, "GPUs: auto (ask nvidia-smi; 0 without it) or a number")
      ->capture_default_str();
  app.add_option("--label,--labels", labels, "Node label k=v (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--max-message-bytes", c.max_message_bytes,
                 "Largest message accepted from the coordinator (ZMQ_MAXMSGSIZE)")
      ->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--shutdown-grace", c.shutdown_grace_s,
                 "Seconds replicas get between SIGTERM and SIGKILL when the agent stops")
      ->capture_default_str();
  // Below Linux's default ephemeral range (32768-60999), so outgoing connections
  // never sit on a port the coordinator hands to a replica.
  app.add_option("--port-range", c.port_range,
                 "Ports MIN-MAX the coordinator may assign to replicas here, one each")
      ->capture_default_str();
  app.add_option("--run-as", c.run_as,
                 "User replicas run as when the agent runs as root (name or uid)")
      ->capture_default_str();
  app.add_flag("--allow-root-replicas", c.allow_root_replicas,
               "Let --run-as name root (replicas then hold every privilege of the node)");
  app.add_option("--cgroups", c.cgroups,
                 "One cgroup per replica enforcing memory, CPU weight and pids: auto (when "
                 "available), required, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "required", "off"}));
  app.add_option("--replica-pids-max", c.replica_pids_max,
                 "Processes and threads one replica may have at once (its pids cgroup)")
      ->capture_default_str();
  app.add_option("--replica-open-files", c.replica_open_files,
                 "Open files per replica process (RLIMIT_NOFILE)")
      ->capture_default_str();
  app.add_option("--metrics-port", c.metrics_port,
                 "Serve Prometheus metrics (replicas' CPU and memory, GPUs) on GET /metrics "
                 "here; -1: off, 0: any free port")
      ->capture_default_str();
  app.add_option("--metrics-host", c.metrics_host, "Interface the /metrics port listens on")
      ->capture_default_str();
  app.add_option("--metrics-token-file", c.metrics_token_file,
                 "Bearer token /metrics asks for (made, 0600, if missing; default "
                 "WORK_DIR/metrics.token)");
  app.add_option("--metrics-ports-file", c.metrics_ports_file,
                 "Write the bound /metrics port here as JSON");
}

// "MIN-MAX", with 1024 <= MIN <= MAX <= 65535: no privileged ports.
Status parse_port_range(const std::string& text, int32_t& min, int32_t& max) {
  const auto invalid = [&] {
    return InvalidArgument("--port-range: invalid value '" + text +
                           "' (expected MIN-MAX with 1024 <= MIN <= MAX <= 65535)");
  };
  const size_t dash = text.find('-');
  if (dash == std::string::npos) return invalid();
  const auto parse_port = [](const std::string& digits, int32_t& out) {
    if (digits.empty() || digits.size() > 5) return false;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
    }
    out = std::stoi(digits);
    return true;
  };
  if (!parse_port(text.substr(0, dash), min) || !parse_port(text.substr(dash + 1), max)) {
    return invalid();
  }
  if (min < 1024 || min > max || max > 65535) return invalid();
  return Status::Ok();
}

Status check_readable(const char* flag, const std::string& path) {
  if (path.empty()) {
    return InvalidArgument(std::string(flag) + " is required unless --insecure is given");
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return InvalidArgument(std::string(flag) + ": cannot read '" + path + "'");
  }
  return Status::Ok();
}

// Checks and resolves everything CLI11 took as text.
Status resolve(AgentConfig& c, const std::vector<std::string>& labels) {
  for (const auto& label : labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--label: invalid value '" + label + "' (expected key=value)");
    }
    c.labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  if (!c.cpus.empty()) {
    auto millis = parse_cpu_quantity(c.cpus);
    if (!millis.ok()) return millis.status().annotate("--cpus");
    c.resources.cpu_millis = *millis;
  }
  if (!c.memory.empty()) {
    auto bytes = parse_memory_quantity(c.memory);
    if (!bytes.ok()) return bytes.status().annotate("--memory");
    c.resources.memory_bytes = *bytes;
  }
  auto gpus = parse_gpu_count(c.gpus);
  if (!gpus.ok()) return gpus.status().annotate("--gpus");
  c.resources.gpus = *gpus;
  if (c.max_message_bytes <= 0) {
    return InvalidArgument("--max-message-bytes: invalid value '" +
                           std::to_string(c.max_message_bytes) + "' (must be positive)");
  }
  if (c.shutdown_grace_s < 0) {
    return InvalidArgument("--shutdown-grace: invalid value '" +
                           std::to_string(c.shutdown_grace_s) + "' (must be >= 0)");
  }
  RETURN_IF_ERROR(parse_port_range(c.port_range, c.port_min, c.port_max));
  if (c.replica_pids_max < 1 || c.replica_open_files < 16) {
    return InvalidArgument("--replica-pids-max must be >= 1 and --replica-open-files >= 16 (got " +
                           std::to_string(c.replica_pids_max) + ", " +
                           std::to_string(c.replica_open_files) + ")");
  }
  c.sandbox.run_as = c.run_as;
  c.sandbox.allow_root = c.allow_root_replicas;
  c.sandbox.cgroups = c.cgroups == "required" ? CgroupMode::kRequired
                      : c.cgroups == "off"    ? CgroupMode::kOff
                                              : CgroupMode::kAuto;
  c.sandbox.pids_max = c.replica_pids_max;
  c.sandbox.max_open_files = static_cast<rlim_t>(c.replica_open_files);
  if (c.coordinator.rfind("tcp://", 0) != 0 && c.coordinator.rfind("ipc://", 0) != 0) {
    return InvalidArgument("--coordinator: invalid value '" + c.coordinator +
                           "' (expected tcp://HOST:PORT)");
  }
  if (c.name.empty()) c.name = default_node_name();
  if (c.address.empty()) c.address = hostname();
  if (c.work_dir.empty()) return InvalidArgument("--work-dir must not be empty");
  c.work_dir = std::filesystem::absolute(c.work_dir).lexically_normal().string();
  // One replica subtree per agent, found again by the same agent after a restart.
  c.sandbox.cgroup_parent = "cadre-replicas-" + protocol::sha256_hex(c.work_dir).substr(0, 12);
  if (c.metrics_port < -1 || c.metrics_port > 65535) {
    return InvalidArgument("--metrics-port: " + std::to_string(c.metrics_port) +
                           " is not a port (-1: off)");
  }
  if (c.metrics_token_file.empty()) c.metrics_token_file = c.work_dir + "/metrics.token";
  if (!c.insecure) {
    RETURN_IF_ERROR(check_readable("--key", c.key));
    RETURN_IF_ERROR(check_readable("--server-key", c.server_key));
  }
  return Status::Ok();
}

}  // namespace

ParsedCommandLine parse_agent_command_line(int argc, const char* const* argv) {
  AgentConfig config;
  std::vector<std::string> labels;
  CLI::App app("cadre-agent: runs Cadre replicas on this node", "cadre-agent");
  declare_flags(app, config, labels);

  std::ostringstream help;
  auto parsed = config::parse_command_line(app, argc, argv, help);
  if (!parsed.ok()) {
    std::cerr << "cadre-agent: " << parsed.status().message()
              << "\nRun with --help for the settings.\n";
    return {std::nullopt, 2};
  }
  if (*parsed == config::Parsed::kHelpShown) {
    std::cout << help.str();
    return {std::nullopt, 0};
  }
  const Status status = resolve(config, labels);
  if (!status.ok()) {
    std::cerr << "cadre-agent: " << status.message() << "\n";
    return {std::nullopt, 2};
  }
  return {std::move(config), 0};
}

}  // namespace cadre::agent

// Every setting of cadre-agent, declared once: its flag, default and one-line doc
// live together in declare_flags() (agent_config.cc), and the same names are the
// keys of the optional YAML file given by --config. Flags override the file.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "agent/replica_sandbox.h"
#include "agent/resource_discovery.h"
#include "protocol/limits.h"
#include "protocol/status.h"

namespace cadre::agent {

struct AgentConfig {
  std::string config_file;                           // --config
  std::string coordinator = "tcp://127.0.0.1:7070";  // --coordinator
  std::string server_key;                            // --server-key (coordinator's .pub)
  std::string key;                                   // --key (this agent's .key)
  bool insecure = false;                             // --insecure
  std::string name;                                  // --name (default: short hostname)
  std::string address;                               // --address (default: hostname)
  std::string work_dir = "/var/lib/cadre-agent";     // --work-dir
  std::string cpus;                                  // --cpus (empty: all)
  std::string memory;                                // --memory (empty: MemTotal)
  std::string gpus = "auto";                         // --gpus
  std::map<std::string, std::string> labels;         // --label k=v
  int64_t max_message_bytes = protocol::kDefaultMaxMessageBytes;  // --max-message-bytes
  std::string log_level = "info";                                 // --log-level
  double shutdown_grace_s = 5;                                    // --shutdown-grace
  std::string port_range = "30000-32767";                         // --port-range MIN-MAX
  std::string run_as = "cadre-run";                               // --run-as
  bool allow_root_replicas = false;                               // --allow-root-replicas
  std::string cgroups = "auto";                                   // --cgroups auto|required|off
  int64_t replica_pids_max = 4096;                                // --replica-pids-max
  int64_t replica_open_files = 65536;                             // --replica-open-files
  int metrics_port = -1;                   // --metrics-port (-1: no /metrics; 0: any free port)
  std::string metrics_host = "127.0.0.1";  // --metrics-host
  std::string metrics_token_file;          // --metrics-token-file (default WORK_DIR/metrics.token)
  std::string metrics_ports_file;          // --metrics-ports-file: the bound port, as JSON

  // Resolved from the strings above by parse_agent_config.
  ResourceRequest resources;
  int32_t port_min = 0;  // from --port-range
  int32_t port_max = 0;
  SandboxOptions sandbox;  // from --run-as, --allow-root-replicas, --cgroups, --replica-*
};

// Outcome of reading the command line: a config to run with, or a request to exit
// now with `exit_code` after `output` was printed (--help, or a bad value).
struct ParsedCommandLine {
  std::optional<AgentConfig> config;
  int exit_code = 0;
};

// Parses flags (and --config FILE), validates every value and prints --help or
// the error itself. Errors name the flag and the value, and exit with code 2.
ParsedCommandLine parse_agent_command_line(int argc, const char* const* argv);

}  // namespace cadre::agent

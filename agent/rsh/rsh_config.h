// cadre-rsh's configuration, declared once with defaults and parsed at start-up
// from the command line and the replica environment (STYLE.md §5): nothing else
// in agent/rsh/ reads the environment.
//
//   cadre-rsh serve [--port N] [--bind ADDR] [--max-sessions N] [--log-level L]
//   cadre-rsh [ssh options, ignored] HOST COMMAND...
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/rsh/host_map.h"
#include "protocol/status.h"

namespace cadre::agent::rsh {

// Reads one environment variable; tests pass a map instead of the process's.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_environment();

// `cadre-rsh serve`: what an MPI Worker replica runs.
struct ServeConfig {
  // --bind: IPv4 address to listen on. Default: this replica's own CADRE_PEERS host
  // (protocol/bind_address.h), else all interfaces.
  std::string bind_address = "0.0.0.0";
  int port = 0;                    // --port, else the CADRE_RANK-th entry of CADRE_PEERS
  std::string token;               // CADRE_JOB_TOKEN; required, non-empty
  int max_sessions = 64;           // --max-sessions: concurrent commands; more are refused
  double auth_timeout_s = 10;      // a connection must send its request within this
  double kill_grace_s = 2;         // SIGTERM to SIGKILL, for a hung-up or shut-down session
  std::string log_level = "info";  // --log-level: spdlog level
  std::string entity;  // "job=<CADRE_JOB> replica=<type>-<index>", the prefix of every log line
  // PATH of the commands: ours with cadre-rsh's own folder appended, because orted
  // insists that plm_rsh_agent (cadre-rsh, on its command line) resolves.
  std::string command_path;
};

// `cadre-rsh HOST COMMAND...`: what mpirun runs as its rsh agent on the Launcher.
struct ClientConfig {
  std::string host;                   // HOST as mpirun wrote it (a user@ prefix is dropped)
  Endpoint endpoint;                  // HOST looked up in CADRE_MPI_HOSTS
  std::string command;                // the words after HOST joined by spaces, for /bin/sh -c
  std::string token;                  // CADRE_JOB_TOKEN; required, non-empty
  double connect_timeout_s = 60;      // CADRE_RSH_CONNECT_TIMEOUT_S: Workers may still be starting
  std::vector<std::string> send_env;  // CADRE_RSH_SEND_ENV: comma-separated names to pass along
  std::vector<std::pair<std::string, std::string>> env;  // those variables' values here
};

bool is_serve_invocation(const std::vector<std::string>& args);  // args[0] == "serve"

// args: everything after "serve". InvalidArgument naming the flag or variable.
Result<ServeConfig> parse_serve_config(const std::vector<std::string>& args, const EnvLookup& env);

// args: everything after the program name. ssh's options (-x, -T, -o X, -p N,
// -l user, ...) are skipped, taking their argument where ssh's take one.
Result<ClientConfig> parse_client_config(const std::vector<std::string>& args,
                                         const EnvLookup& env);

}  // namespace cadre::agent::rsh

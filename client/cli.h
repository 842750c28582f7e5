// What the `cadre` command's subcommands share: the global flags, the outcome a
// subcommand's action returns, and a connection to the coordinator. main.cc wires
// the workload commands; cli_cluster.cc the cluster's own (nodes, tokens, keys,
// the local cluster, the dashboard link).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "client/config.h"
#include "client/coordinator.h"

namespace cadre::client {

inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Flags every command shares.
struct GlobalFlags {
  std::string config;          // --config FILE
  double request_timeout = 0;  // --timeout SECONDS; 0: from the config (default 10)
};

// What a subcommand's callback decided to run, and whether a failure before it
// ran was the user's usage (exit 2) rather than the operation's (exit 1).
struct Outcome {
  Status status;
  bool usage = false;
};

using Action = std::function<Outcome()>;

inline Outcome usage_error(Status status) { return {std::move(status), true}; }

// The client config the flags, $CADRE_CONFIG, ./.cadre/config or ~/.cadre/config name.
Result<ClientConfig> client_config(const GlobalFlags& flags);

// Runs `command` against the coordinator the client config names.
Outcome with_coordinator(const GlobalFlags& flags,
                         const std::function<Status(Coordinator&)>& command);

// The cluster's commands: cordon, uncordon, drain, dashboard, tokens, keys, local.
void add_cluster_commands(CLI::App& app, const GlobalFlags& flags, Action* action);

}  // namespace cadre::client

// cadre: the Cadre message client. This file only wires flags to commands; the
// commands live in commands.h, watch_commands.h and local_cluster.h.
//
// Exit codes: 0 success, 1 the operation failed, 2 usage error.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "client/commands.h"
#include "client/config.h"
#include "client/coordinator_client.h"
#include "client/local_cluster.h"
#include "client/watch_commands.h"

namespace cadre::client {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

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

Outcome usage_error(Status status) { return {std::move(status), true}; }

Result<std::unique_ptr<Coordinator>> connect(const GlobalFlags& flags) {
  ConfigSources sources;
  sources.flag = flags.config;
  if (const char* env = std::getenv("CADRE_CONFIG")) sources.env = env;
  sources.cwd = ".";
  if (const char* home = std::getenv("HOME")) sources.home = home;
  ASSIGN_OR_RETURN(std::string path, resolve_config_path(sources));
  ASSIGN_OR_RETURN(ClientConfig config, load_config(path));
  CoordinatorClientOptions options;
  options.endpoint = config.coordinator;
  options.server_key_file = config.server_key;
  options.key_file = config.key;
  options.insecure = config.insecure;
  const double seconds = flags.request_timeout > 0 ? flags.request_timeout : config.timeout_seconds;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  ASSIGN_OR_RETURN(auto client, CoordinatorClient::Create(options));
  return std::unique_ptr<Coordinator>(std::move(client));
}

// Runs `command` against a connected coordinator.
Outcome with_coordinator(const GlobalFlags& flags,
                         const std::function<Status(Coordinator&)>& command) {
  auto coordinator = connect(flags);
  if (!coordinator.ok()) return {coordinator.status()};
  return {command(**coordinator)};
}

using Action = std::function<Outcome()>;

void add_apply(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("apply", "Create resources from YAML manifests");
  auto file = std::make_shared<std::string>();
  cmd->add_option("-f,--filename", *file, "Manifest file; '-' reads stdin")->required();
  cmd->callback([=, &flags] {
    *action = [=, &flags] {
      return with_coordinator(flags,
                              [&](Coordinator& c) { return apply_manifests(c, *file, std::cout); });
    };
  });
}

void add_get(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("get", "List nodes, jobs, trainjobs, experiments or trials");
  auto args = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  auto selector = std::make_shared<std::string>();
  cmd->add_option("resource", *args, "nodes|jobs|trainjobs|experiments|trials [NAME], or job/NAME")
      ->required()
      ->expected(1, 2);
  cmd->add_option("-o,--output", *output, "Output format: json or wide");
  cmd->add_option("-l,--selector", *selector, "For trials: experiment=NAME");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_resource_ref(*args);
      if (!ref.ok()) return usage_error(ref.status());
      auto format = parse_output_format(*output);
      if (!format.ok()) return usage_error(format.status());
      auto experiment = experiment_selector(*selector);
      if (!experiment.ok()) return usage_error(experiment.status());
      return with_coordinator(flags, [&](Coordinator& c) {
        return get_resources(c, *ref, *format, std::cout, *selector);
      });
    };
  });
}

void add_describe(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("describe",
                                 "Show a job, trainjob or experiment in detail, with its events");
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("resource", *args, "job|trainjob|experiment NAME, or job/NAME")
      ->required()
      ->expected(1, 2);
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(*args, {"jobs", "trainjobs", "experiments"});
      if (!ref.ok()) return usage_error(ref.status());
      return with_coordinator(
          flags, [&](Coordinator& c) { return describe_resource(c, *ref, std::cout); });
    };
  });
}

void add_logs(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand("logs", "Print a replica's log");
  auto args = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<LogsOptions>();
  auto tail = std::make_shared<int64_t>(-1);
  cmd->add_option("resource", *args, "job/NAME or trainjob/NAME")->required()->expected(1, 2);
  cmd->add_flag("-f,--follow", options->follow, "Keep printing until the replica ends");
  cmd->add_option("--replica", options->replica, "Replica name, e.g. worker-1 (default: rank 0)");
  cmd->add_option("--tail", *tail, "Only the last N lines")->check(CLI::NonNegativeNumber);
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(*args, kJobResources);
      if (!ref.ok()) return usage_error(ref.status());
      if (!options->replica.empty()) {
        const Status replica = check_replica_name(options->replica);
        if (!replica.ok()) return usage_error(replica);
      }
      LogsOptions run = *options;
      run.ref = *ref;
      if (*tail >= 0) run.tail = *tail;
      return with_coordinator(flags, [&](Coordinator& c) { return print_logs(c, run, std::cout); });
    };
  });
}

void add_wait(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd =
      app.add_subcommand("wait", "Wait until a job, trainjob or experiment reaches a phase");
  auto args = std::make_shared<std::vector<std::string>>();
  auto condition = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>("300");
  cmd->add_option("resource", *args, "job/NAME, trainjob/NAME or experiment/NAME")
      ->required()
      ->expected(1, 2);
  cmd->add_option("--for", *condition,
                  "Succeeded, Failed, Running, Restarting or Queued (also condition=Succeeded)")
      ->required();
  cmd->add_option("--timeout", *timeout, "Give up after this long: 60, 90s, 5m (default 300s)");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      WaitOptions options;
      auto ref = parse_named_ref(*args, {"jobs", "trainjobs", "experiments"});
      if (!ref.ok()) return usage_error(ref.status());
      auto phase = parse_wait_condition(*condition);
      if (!phase.ok()) return usage_error(phase.status());
      auto limit = parse_duration(*timeout);
      if (!limit.ok()) return usage_error(limit.status().annotate("--timeout"));
      options.ref = *ref;
      options.condition = *phase;
      options.timeout = *limit;
      return with_coordinator(flags, [&](Coordinator& c) { return wait_for_job(c, options); });
    };
  });
}

void add_delete(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "delete",
      "Delete a job, trainjob or experiment (replicas are stopped), or a node that is not Ready");
  auto args = std::make_shared<std::vector<std::string>>();
  auto file = std::make_shared<std::string>();
  auto* positional =
      cmd->add_option("resource", *args, "job/NAME, trainjob/NAME, experiment/NAME or node/NAME")
          ->expected(1, 2);
  cmd->add_option("-f,--filename", *file, "Delete what a manifest names")->excludes(positional);
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      if (!file->empty()) {
        return with_coordinator(
            flags, [&](Coordinator& c) { return delete_manifests(c, *file, std::cout); });
      }
      if (args->empty())
        return usage_error(
            InvalidArgument("delete needs job/NAME, trainjob/NAME, experiment/NAME, node/NAME "
                            "or -f FILE"));
      auto ref = parse_named_ref(*args, {"jobs", "trainjobs", "experiments", "nodes"});
      if (!ref.ok()) return usage_error(ref.status());
      return with_coordinator(flags,
                              [&](Coordinator& c) { return delete_resource(c, *ref, std::cout); });
    };
  });
}

void add_keys(CLI::App& app, Action* action) {
  auto* keys = app.add_subcommand("keys", "CURVE key pairs")->require_subcommand(1);
  auto* generate = keys->add_subcommand("generate", "Write PREFIX.key (0600) and PREFIX.pub");
  auto prefix = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  generate->add_option("--out", *prefix, "Path prefix of the files")->required();
  generate->add_flag("--force", *force, "Replace an existing key pair");
  auto node = std::make_shared<std::string>();
  generate->add_option("--node", *node,
                       "Bind an agent key to this node name: the coordinator refuses it under "
                       "any other name");
  generate->callback([=] {
    *action = [=]() -> Outcome { return {generate_keys(*prefix, *force, *node, std::cout)}; };
  });
}

void add_local(CLI::App& app, Action* action) {
  auto* local = app.add_subcommand("local", "A local cluster on 127.0.0.1")->require_subcommand(1);
  auto* up = local->add_subcommand("up", "Start a coordinator and agents in the background");
  auto options = std::make_shared<LocalUpOptions>();
  auto cpus = std::make_shared<double>(0);
  up->add_option("--agents", options->agents, "Number of agents")->capture_default_str();
  up->add_option("--dir", options->dir, "Folder for keys, state, logs, config")
      ->capture_default_str();
  up->add_option("--agent-port", options->agent_port, "Coordinator agent port (0: any free)")
      ->capture_default_str();
  up->add_option("--client-port", options->client_port, "Coordinator client port (0: any free)")
      ->capture_default_str();
  up->add_option("--cpus-per-agent", *cpus, "CPU cores each agent offers (default: detected)");
  up->add_option("--gpus-per-agent", options->gpus_per_agent, "GPUs each agent offers")
      ->capture_default_str();
  up->add_option("--run-as", options->run_as,
                 "User replicas run as when run as root (default: cadre-run if it can reach the "
                 "cluster folder, else root)");
  up->callback([=] {
    *action = [=]() -> Outcome {
      LocalUpOptions run = *options;
      if (*cpus > 0) run.cpus_per_agent = *cpus;
      return {local_up(run, std::cout)};
    };
  });
  auto* down = local->add_subcommand("down", "Stop the local cluster's processes");
  auto dir = std::make_shared<std::string>("./.cadre");
  down->add_option("--dir", *dir, "Folder given to local up")->capture_default_str();
  down->callback([=] {
    *action = [=]() -> Outcome { return {local_down(*dir, std::chrono::seconds(10), std::cout)}; };
  });
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"cadre: the client of a Cadre cluster (see docs/cli.md)", "cadre"};
  app.set_version_flag("--version", std::string("cadre ") + CADRE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand
  GlobalFlags flags;
  app.add_option("--config", flags.config,
                 "Client config file (default: $CADRE_CONFIG, ./.cadre/config, ~/.cadre/config)");
  app.add_option("--request-timeout,--timeout", flags.request_timeout,
                 "Seconds one request may wait for the coordinator (default: config, else 10); "
                 "after `wait`, --timeout is the wait's own limit");
  Action action;
  add_apply(app, flags, &action);
  add_get(app, flags, &action);
  add_describe(app, flags, &action);
  add_logs(app, flags, &action);
  add_wait(app, flags, &action);
  add_delete(app, flags, &action);
  add_keys(app, &action);
  add_local(app, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (!action) return kExitUsage;
  const Outcome outcome = action();
  if (outcome.status.ok()) return 0;
  std::cerr << "error: " << outcome.status.message() << "\n";
  return outcome.usage ? kExitUsage : kExitFailed;
}

}  // namespace cadre::client

int main(int argc, char** argv) { return cadre::client::run(argc, argv); }

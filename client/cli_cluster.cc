// The cluster's own commands: nodes (cordon, uncordon, drain), the dashboard link,
// tokens, keys and the local cluster. Workload commands are in main.cc.
#include <iostream>
#include <memory>

#include "client/cli.h"
#include "client/commands.h"
#include "client/dashboard_link.h"
#include "client/local_cluster.h"
#include "client/node_commands.h"
#include "client/watch_commands.h"

namespace cadre::client {
namespace {

// A node is named bare, as kubectl names one, or as node/NAME or node NAME.
std::vector<std::string> node_words(std::vector<std::string> args) {
  if (args.size() == 1 && args[0].find('/') == std::string::npos) args.insert(args.begin(), "node");
  return args;
}

void add_cordon(CLI::App& app, const GlobalFlags& flags, Action* action, bool cordon) {
  auto* cmd =
      app.add_subcommand(cordon ? "cordon" : "uncordon",
                         cordon ? "Place nothing new on a node; what runs there keeps running"
                                : "Let the scheduler place replicas on a cordoned node again");
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("node", *args, "NAME, node/NAME or node NAME")->required()->expected(1, 2);
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(node_words(*args), {"nodes"});
      if (!ref.ok()) return usage_error(ref.status());
      return with_coordinator(
          flags, [&](Coordinator& c) { return cordon_node(c, ref->name, cordon, std::cout); });
    };
  });
}

void add_drain(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "drain", "Cordon a node and restart what runs there elsewhere; wait until it is empty");
  auto args = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<std::string>("300");
  cmd->add_option("node", *args, "NAME, node/NAME or node NAME")->required()->expected(1, 2);
  cmd->add_option("--timeout", *timeout,
                  "Give up waiting for the node to empty after this long: 90s, 5m (default 300s)");
  cmd->callback([=, &flags] {
    *action = [=, &flags]() -> Outcome {
      auto ref = parse_named_ref(node_words(*args), {"nodes"});
      if (!ref.ok()) return usage_error(ref.status());
      auto limit = parse_duration(*timeout);
      if (!limit.ok()) return usage_error(limit.status().annotate("--timeout"));
      DrainOptions options;
      options.node = ref->name;
      options.timeout = *limit;
      return with_coordinator(flags,
                              [&](Coordinator& c) { return drain_node(c, options, std::cout); });
    };
  });
}

void add_dashboard(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* cmd = app.add_subcommand(
      "dashboard", "Print a one-time login link to the web dashboard (valid 60 s, one browser)");
  auto ns = std::make_shared<std::string>("default");
  cmd->add_option("-n,--namespace", *ns, "The namespace to log in to (default: default)");
  cmd->callback([=, &flags] {
    *action = [=, &flags] {
      return with_coordinator(
          flags, [&](Coordinator& c) { return print_dashboard_link(c, *ns, std::cout); });
    };
  });
}

void add_tokens(CLI::App& app, const GlobalFlags& flags, Action* action) {
  auto* tokens =
      app.add_subcommand("tokens", "Cadre tokens for the ingress")->require_subcommand(1);
  auto* create = tokens->add_subcommand("create", "Make a token (shown once) for a namespace");
  auto ns = std::make_shared<std::string>("default");
  auto description = std::make_shared<std::string>();
  auto out_file = std::make_shared<std::string>();
  create->add_option("-n,--namespace", *ns, "The namespace it may call (default: default)");
  create->add_option("--description", *description, "What it is for");
  create->add_option("--out", *out_file, "Write it to this file (0600) instead of printing it");
  create->callback([=, &flags] {
    *action = [=, &flags] {
      return with_coordinator(flags, [&](Coordinator& c) {
        return create_token(c, *ns, *description, *out_file, std::cout);
      });
    };
  });
  auto* list = tokens->add_subcommand("list", "List tokens (ids, never the tokens)");
  list->callback([=, &flags] {
    *action = [=, &flags] {
      return with_coordinator(flags, [&](Coordinator& c) {
        ResourceRef ref{ResourceType{"tokens", "token"}, ""};
        return get_resources(c, ref, OutputFormat::kTable, std::cout);
      });
    };
  });
  auto* remove = tokens->add_subcommand("delete", "Delete a token: ingresses refuse it at once");
  auto id = std::make_shared<std::string>();
  remove->add_option("id", *id, "The token's id (cadre tokens list)")->required();
  remove->callback([=, &flags] {
    *action = [=, &flags] {
      return with_coordinator(flags, [&](Coordinator& c) {
        return delete_resource(c, ResourceRef{ResourceType{"tokens", "token"}, *id}, std::cout);
      });
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
  up->add_option("--ingress-port", options->ingress_port,
                 "Coordinator port for ingresses (0: any free)")
      ->capture_default_str();
  up->add_option("--grpc-port", options->grpc_port,
                 "The ingress's gRPC port (0: any free, -1: none)")
      ->capture_default_str();
  up->add_option("--http-port", options->http_port, "The ingress's HTTP port (0: any free)")
      ->capture_default_str();
  up->add_flag("--tls", options->tls,
               "HTTPS at the ingress, with a self-signed certificate for 127.0.0.1 that the "
               "written config trusts (keys/ingress-tls.crt)");
  up->add_option("--tls-cert", options->tls_cert,
                 "HTTPS at the ingress with this PEM certificate chain (implies --tls)");
  up->add_option("--tls-key", options->tls_key, "The PEM private key of --tls-cert");
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

void add_cluster_commands(CLI::App& app, const GlobalFlags& flags, Action* action) {
  add_cordon(app, flags, action, true);
  add_cordon(app, flags, action, false);
  add_drain(app, flags, action);
  add_dashboard(app, flags, action);
  add_tokens(app, flags, action);
  add_keys(app, action);
  add_local(app, action);
}

}  // namespace cadre::client

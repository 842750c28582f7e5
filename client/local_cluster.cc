#include "client/local_cluster.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/config.h"
#include "client/coordinator_client.h"
#include "client/daemon.h"
#include "client/service_commands.h"
#include "protocol/atomic_file.h"
#include "protocol/curve_keys.h"
#include "protocol/tls_certificate.h"

namespace cadre::client {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr size_t kLogTailLines = 25;

// One process we started, kept so a failed start-up can be undone.
struct Started {
  std::string name;     // "coordinator", "agent-1"
  std::string program;  // "cadre-coordinator", "cadre-agent"
  pid_t pid = 0;
};

Status make_dirs(const LocalLayout& layout, int agents) {
  std::vector<std::string> dirs = {layout.keys_dir(),
                                   layout.coordinator_dir() + "/authorized/clients",
                                   layout.coordinator_dir() + "/authorized/agents",
                                   layout.coordinator_dir() + "/authorized/ingresses",
                                   layout.state_dir(),
                                   layout.logs_dir(),
                                   layout.pids_dir()};
  for (int i = 1; i <= agents; ++i) dirs.push_back(layout.agent_work_dir(i));
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  }
  return Status::Ok();
}

Status copy_file(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return Internal("cannot copy " + from + " to " + to + ": " + ec.message());
  return Status::Ok();
}

// Keys are generated only when absent so that a restart keeps every identity, then
// wired: the server key into the coordinator's config dir, and one allowlist
// entry per role. Each agent has its own key, bound to its node name, so one
// agent's key cannot register as another node.
Status ensure_keys(const LocalLayout& layout, int agents) {
  auto ensure = [&](const std::string& prefix, const std::string& node) -> Status {
    std::error_code ec;
    if (fs::exists(prefix + ".key", ec) && fs::exists(prefix + ".pub", ec)) return Status::Ok();
    ASSIGN_OR_RETURN(protocol::KeyPair pair, protocol::generate_keypair());
    return protocol::write_keypair(prefix, pair, node);
  };
  RETURN_IF_ERROR(ensure(layout.key_prefix("server"), ""));
  RETURN_IF_ERROR(ensure(layout.key_prefix("client"), ""));
  const std::string server_key = layout.coordinator_dir() + "/server.key";
  RETURN_IF_ERROR(copy_file(layout.key_prefix("server") + ".key", server_key));
  ::chmod(server_key.c_str(), 0600);
  RETURN_IF_ERROR(copy_file(layout.key_prefix("client") + ".pub",
                            layout.coordinator_dir() + "/authorized/clients/client.pub"));
  RETURN_IF_ERROR(ensure(layout.key_prefix("ingress"), ""));
  RETURN_IF_ERROR(copy_file(layout.key_prefix("ingress") + ".pub",
                            layout.coordinator_dir() + "/authorized/ingresses/ingress.pub"));
  for (int i = 1; i <= agents; ++i) {
    const std::string name = layout.agent_name(i);
    RETURN_IF_ERROR(ensure(layout.key_prefix(name), LocalLayout::node_name(i)));
    RETURN_IF_ERROR(copy_file(layout.key_prefix(name) + ".pub",
                              layout.coordinator_dir() + "/authorized/agents/" + name + ".pub"));
  }
  return Status::Ok();
}

std::optional<pid_t> running_pid(const LocalLayout& layout, const std::string& name,
                                 const std::string& program) {
  const auto pid = read_pid_file(layout.pid_file(name));
  if (pid && process_alive(*pid) && process_runs(*pid, program)) return pid;
  return std::nullopt;
}

// The pid-file names of agents, from any earlier run too (agent-1, agent-2, ...).
std::vector<std::string> agent_pid_names(const LocalLayout& layout) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(layout.pids_dir(), ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("agent-", 0) == 0 && entry.path().extension() == ".pid") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status died_during_startup(const LocalLayout& layout, const Started& process,
                           const std::string& how) {
  std::string tail = tail_file(layout.log_file(process.name), kLogTailLines);
  if (!tail.empty() && tail.back() == '\n') tail.pop_back();
  return Unavailable(process.program + " (" + process.name + ") " + how +
                     " during start-up; last lines of " + layout.log_file(process.name) + ":\n" +
                     tail);
}

// Undoes a failed start-up so that the next `local up` starts clean.
void stop_started(const LocalLayout& layout, const std::vector<Started>& started) {
  for (auto it = started.rbegin(); it != started.rend(); ++it) {
    bool killed = false;
    stop_process(it->pid, std::chrono::seconds(5), &killed);
    (void)reap_child(it->pid);
    std::error_code ec;
    fs::remove(layout.pid_file(it->name), ec);
  }
}

Status check_alive(const LocalLayout& layout, const std::vector<Started>& started) {
  for (const Started& process : started) {
    if (auto how = reap_child(process.pid)) return died_during_startup(layout, process, *how);
  }
  return Status::Ok();
}

Result<Started> start(const LocalLayout& layout, const std::string& name,
                      const std::string& program, const std::vector<std::string>& argv) {
  ASSIGN_OR_RETURN(pid_t pid, spawn_daemon(argv, layout.log_file(name)));
  RETURN_IF_ERROR(write_pid_file(layout.pid_file(name), pid));
  return Started{name, program, pid};
}

Result<Endpoints> wait_for_endpoints(const LocalLayout& layout, const LocalUpOptions& options,
                                     const std::vector<Started>& started) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(options.timeout_seconds);
  while (Clock::now() < deadline) {
    RETURN_IF_ERROR(check_alive(layout, started));
    std::ifstream in(layout.endpoints_file());
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      // The coordinator writes the file atomically (rename), so a parse error is real.
      return parse_endpoints(text.str());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return DeadlineExceeded("the coordinator did not write " + layout.endpoints_file() + " within " +
                          std::to_string(static_cast<int>(options.timeout_seconds)) + "s; see " +
                          layout.log_file("coordinator"));
}

Status wait_for_ready_nodes(const LocalLayout& layout, const LocalUpOptions& options,
                            const ClientConfig& config, const std::vector<Started>& started) {
  CoordinatorClientOptions client_options;
  client_options.endpoint = config.coordinator;
  client_options.server_key_file = config.server_key;
  client_options.key_file = config.key;
  client_options.timeout = std::chrono::seconds(2);
  ASSIGN_OR_RETURN(auto client, CoordinatorClient::Create(client_options));
  const auto deadline = Clock::now() + std::chrono::duration<double>(options.timeout_seconds);
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    RETURN_IF_ERROR(check_alive(layout, started));
    auto reply = client->get(protocol::GetRequest{"nodes", ""});
    if (reply.ok()) {
      int ready = 0;
      for (const auto& node : reply->nodes) {
        if (node.name.rfind("local-", 0) == 0 && node.state == protocol::NodeState::kReady) ++ready;
      }
      if (ready >= options.agents) return Status::Ok();
      last = std::to_string(ready) + " of " + std::to_string(options.agents) + " agents Ready";
    } else if (reply.status().code() == StatusCode::kPermissionDenied) {
      return reply.status();
    } else {
      last = reply.status().message();
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return DeadlineExceeded("agents not Ready within " +
                          std::to_string(static_cast<int>(options.timeout_seconds)) + "s (" + last +
                          "); see " + layout.logs_dir());
}

// Starts agents 1..options.agents except those in `keep`, against `endpoint`.
Status start_agents(const LocalLayout& layout, const LocalUpOptions& options,
                    const std::string& endpoint, const std::set<int>& keep,
                    std::vector<Started>& started) {
  ASSIGN_OR_RETURN(std::string agent_bin, find_sibling_binary("cadre-agent"));
  // Replicas inherit the agents' PATH: put Cadre's own programs (cadre-train,
  // cadre-serve) first, so examples can name them as they would on an installed node.
  const std::string bin_dir = fs::path(agent_bin).parent_path().string();
  const char* path = std::getenv("PATH");
  const std::string current = path != nullptr ? path : "/usr/bin:/bin";
  if (current.rfind(bin_dir + ":", 0) != 0) {
    ::setenv("PATH", (bin_dir + ":" + current).c_str(), 1);
  }
  for (int i = 1; i <= options.agents; ++i) {
    if (keep.count(i) > 0) continue;
    // Agents sharing this host must never hand out the same replica port.
    std::vector<std::string> argv = agent_command(agent_bin, layout, options, i, endpoint);
    const int first_port = 31000 + i * 200;
    argv.insert(argv.end(), {"--port-range",
                             std::to_string(first_port) + "-" + std::to_string(first_port + 199)});
    ASSIGN_OR_RETURN(Started agent, start(layout, layout.agent_name(i), "cadre-agent", argv));
    started.push_back(agent);
  }

  return Status::Ok();
}

// `--tls` without a certificate of its own: the cluster's self-signed one, made
// the first time (and again if its files are gone), which clients then trust.
Status resolve_tls(const LocalLayout& layout, LocalUpOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return InvalidArgument(options.tls_cert.empty() ? "--tls-key needs --tls-cert too"
                                                    : "--tls-cert needs --tls-key too");
  }
  if (!options.tls_cert.empty()) {
    options.tls = true;
    options.tls_cert = fs::absolute(options.tls_cert).string();
    options.tls_key = fs::absolute(options.tls_key).string();
    return Status::Ok();
  }
  if (!options.tls) return Status::Ok();
  options.tls_cert = layout.tls_cert_file();
  options.tls_key = layout.tls_key_file();
  std::error_code ec;
  if (fs::exists(options.tls_cert, ec) && fs::exists(options.tls_key, ec)) return Status::Ok();
  return protocol::write_self_signed_certificate(options.tls_cert, options.tls_key);
}

// What the client config trusts for the ingress: the self-signed certificate when
// the cluster made one, else nothing (the system's CAs check a certificate of its own).
std::string own_tls_certificate(const LocalLayout& layout, const LocalUpOptions& options) {
  return options.tls && options.tls_cert == layout.tls_cert_file() ? options.tls_cert : "";
}

// Where the agents serve /metrics (each wrote its port once it listened).
std::vector<std::string> agent_metrics_targets(const LocalLayout& layout,
                                               const LocalUpOptions& options) {
  std::vector<std::string> targets;
  for (int i = 1; i <= options.agents; ++i) {
    std::ifstream in(layout.agent_metrics_ports_file(i));
    std::stringstream text;
    text << in.rdbuf();
    try {
      const int port = nlohmann::json::parse(text.str()).at("metrics").get<int>();
      if (port > 0) targets.push_back("127.0.0.1:" + std::to_string(port));
    } catch (const std::exception&) {
      // Not written (yet): that agent is left out of the scrape config.
    }
  }
  return targets;
}

// Where users reach the ingress: its URL and its gRPC host:port ("" when it has none).
struct IngressAddress {
  std::string url;
  std::string grpc;
};

// Starts the ingress (unless one from before still runs) and waits for its ports.
Result<IngressAddress> start_ingress(const LocalLayout& layout, const LocalUpOptions& options,
                                     const std::string& endpoint, std::vector<Started>& started) {
  // What the ingress's ports file says, once it has written one.
  const auto read_address = [&]() -> std::optional<IngressAddress> {
    std::ifstream in(layout.ingress_ports_file());
    std::stringstream text;
    text << in.rdbuf();
    try {
      const auto json = nlohmann::json::parse(text.str());
      const int port = json.at("http").get<int>();
      if (port <= 0) return std::nullopt;
      IngressAddress address;
      address.url = (json.value("tls", false) ? "https" : "http") + std::string("://127.0.0.1:") +
                    std::to_string(port);
      if (const int grpc = json.value("grpc", 0); grpc > 0) {
        address.grpc = "127.0.0.1:" + std::to_string(grpc);
      }
      return address;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  if (running_pid(layout, "ingress", "cadre-ingress")) {
    if (auto address = read_address()) return *address;
  }
  ASSIGN_OR_RETURN(std::string binary, find_sibling_binary("cadre-ingress"));
  std::error_code ec;
  fs::remove(layout.ingress_ports_file(), ec);
  ASSIGN_OR_RETURN(Started ingress, start(layout, "ingress", "cadre-ingress",
                                          ingress_command(binary, layout, options, endpoint)));
  started.push_back(ingress);
  const auto deadline = Clock::now() + std::chrono::duration<double>(options.timeout_seconds);
  while (Clock::now() < deadline) {
    RETURN_IF_ERROR(check_alive(layout, started));
    if (auto address = read_address()) return *address;
    std::this_thread::sleep_for(kPollInterval);
  }
  return DeadlineExceeded("the ingress did not write " + layout.ingress_ports_file() + "; see " +
                          layout.log_file("ingress"));
}

// A token for namespace default, made once (keys/token, 0600), so `cadre predict`
// works out of the box; the config points at it.
Status ensure_token(const LocalLayout& layout, const ClientConfig& config) {
  std::error_code ec;
  if (fs::exists(layout.token_file(), ec)) return Status::Ok();
  CoordinatorClientOptions client_options;
  client_options.endpoint = config.coordinator;
  client_options.server_key_file = config.server_key;
  client_options.key_file = config.key;
  client_options.timeout = std::chrono::seconds(5);
  ASSIGN_OR_RETURN(auto client, CoordinatorClient::Create(client_options));
  std::ostringstream ignored;
  return create_token(*client, "default", "cadre local up", layout.token_file(), ignored);
}

// Starts the coordinator, then the agents, then waits for them; `started` lists
// what runs so far, for the caller to undo on failure. `keep`: indexes of agents
// still running from before; they reconnect on their own.
Status start_cluster(const LocalLayout& layout, const LocalUpOptions& options,
                     const std::set<int>& keep, std::vector<Started>& started,
                     ClientConfig* config) {
  ASSIGN_OR_RETURN(std::string coordinator_bin, find_sibling_binary("cadre-coordinator"));

  // A stale endpoints file would point at a previous coordinator's ports.
  std::error_code ec;
  fs::remove(layout.endpoints_file(), ec);
  ASSIGN_OR_RETURN(Started coordinator,
                   start(layout, "coordinator", "cadre-coordinator",
                         coordinator_command(coordinator_bin, layout, options)));
  started.push_back(coordinator);
  ASSIGN_OR_RETURN(Endpoints endpoints, wait_for_endpoints(layout, options, started));

  RETURN_IF_ERROR(start_agents(layout, options, endpoints.agents, keep, started));
  ASSIGN_OR_RETURN(IngressAddress ingress,
                   start_ingress(layout, options, endpoints.ingresses, started));
  config->ingress = ingress.url;
  config->ingress_grpc = ingress.grpc;

  config->coordinator = endpoints.clients;
  config->server_key = layout.key_prefix("server") + ".pub";
  config->key = layout.key_prefix("client") + ".key";
  config->token_file = layout.token_file();
  config->ingress_ca = own_tls_certificate(layout, options);
  config->source = layout.config_file();
  RETURN_IF_ERROR(wait_for_ready_nodes(layout, options, *config, started));
  RETURN_IF_ERROR(ensure_token(layout, *config));
  RETURN_IF_ERROR(write_file_atomically(
      layout.prometheus_config_file(),
      render_prometheus_config(layout, endpoints, config->ingress, config->ingress_ca,
                               agent_metrics_targets(layout, options))));
  return write_file_atomically(layout.config_file(), render_config(*config));
}

// Whether the user (uid, gid) may traverse every folder down to `path` (so a replica
// running as that user can start in, or run programs from, it).
bool reachable_by(uid_t uid, gid_t gid, const fs::path& path) {
  fs::path walked;
  for (const auto& part : fs::absolute(path).lexically_normal()) {
    walked /= part;
    struct stat st {};
    if (::stat(walked.c_str(), &st) != 0) return false;
    if (!S_ISDIR(st.st_mode)) continue;
    const bool ok = (st.st_uid == uid && (st.st_mode & S_IXUSR)) ||
                    (st.st_gid == gid && (st.st_mode & S_IXGRP)) || (st.st_mode & S_IXOTH);
    if (!ok) return false;
  }
  return true;
}

// A root `local up` runs replicas as cadre-run when that can work here; the
// embedded cluster is a developer's own machine, so otherwise it says why it falls
// back to root rather than failing every replica with a permission error.
std::string choose_run_as(const LocalLayout& layout, std::ostream& out) {
  if (::geteuid() != 0) return "";
  const char* user = "cadre-run";
  const struct passwd* entry = ::getpwnam(user);
  std::string why;
  if (entry == nullptr) {
    why = "there is no user cadre-run (scripts/setup-deps.sh creates it)";
  } else {
    auto bin = find_sibling_binary("cadre-agent");
    for (const std::string& dir :
         {layout.root, bin.ok() ? fs::path(*bin).parent_path().string() : std::string("/")}) {
      if (why.empty() && !reachable_by(entry->pw_uid, entry->pw_gid, dir)) {
        why = "cadre-run cannot reach " + dir;
      }
    }
  }
  if (why.empty()) return user;
  out << "note: replicas run as root: " << why << "; pass --run-as USER to choose\n";
  return "root";
}

int port_of(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(endpoint.c_str() + colon + 1);
}

// After a coordinator crash its agents (and their replicas) may still run. They
// are kept, and the new coordinator binds the ports they know, so they reconnect,
// register again and report their replicas, which it adopts: nothing restarts.
// Returns the agent indexes kept; `options` gets the old ports.
std::set<int> keep_live_agents(const LocalLayout& layout, LocalUpOptions& options,
                               std::ostream& out) {
  std::set<int> keep;
  std::ifstream in(layout.endpoints_file());
  if (!in) return keep;
  std::stringstream text;
  text << in.rdbuf();
  auto previous = parse_endpoints(text.str());
  if (!previous.ok()) return keep;
  for (int i = 1; i <= options.agents; ++i) {
    if (auto pid = running_pid(layout, layout.agent_name(i), "cadre-agent")) {
      keep.insert(i);
      out << "kept running " << layout.agent_name(i) << " (pid " << *pid << ")\n";
    }
  }
  if (keep.empty()) return keep;
  if (options.agent_port == 0) options.agent_port = port_of(previous->agents);
  if (options.client_port == 0) options.client_port = port_of(previous->clients);
  // A Prometheus may scrape the old /metrics port.
  if (options.metrics_port == 0) options.metrics_port = port_of(previous->metrics);
  // A running ingress polls the old ingress port: the new coordinator binds it.
  if (options.ingress_port == 0 && running_pid(layout, "ingress", "cadre-ingress")) {
    options.ingress_port = port_of(previous->ingresses);
  }
  return keep;
}

// Agents left running by an earlier cluster whose coordinator is gone, and not
// kept, would register twice under the same names; stop them first.
void stop_leftover_agents(const LocalLayout& layout, const std::set<int>& keep, std::ostream& out) {
  for (const std::string& name : agent_pid_names(layout)) {
    bool kept = false;
    for (int i : keep) kept = kept || name == layout.agent_name(i);
    if (kept) continue;
    if (auto pid = running_pid(layout, name, "cadre-agent")) {
      bool killed = false;
      stop_process(*pid, std::chrono::seconds(10), &killed);
      out << "stopped leftover " << name << " (pid " << *pid << ")\n";
    }
    std::error_code ec;
    fs::remove(layout.pid_file(name), ec);
  }
}

// The coordinator runs: start again whichever agents are down (an agent crashed,
// or was killed), leaving the rest alone.
Status restart_missing_agents(const LocalLayout& layout, const LocalUpOptions& options,
                              pid_t coordinator, std::ostream& out) {
  std::set<int> live;
  for (int i = 1; i <= options.agents; ++i) {
    if (running_pid(layout, layout.agent_name(i), "cadre-agent")) live.insert(i);
  }
  if (static_cast<int>(live.size()) < options.agents) {
    std::ifstream in(layout.endpoints_file());
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(Endpoints endpoints, parse_endpoints(text.str()));
    LocalUpOptions resolved = options;
    if (resolved.run_as.empty()) resolved.run_as = choose_run_as(layout, out);
    RETURN_IF_ERROR(ensure_keys(layout, options.agents));
    std::vector<Started> started;
    Status status = start_agents(layout, resolved, endpoints.agents, live, started);
    if (status.ok()) {
      auto loaded = load_config(layout.config_file());
      status =
          loaded.ok() ? wait_for_ready_nodes(layout, resolved, *loaded, started) : loaded.status();
    }
    if (!status.ok()) {
      stop_started(layout, started);
      return status;
    }
    for (const Started& agent : started) {
      out << "started " << agent.name << " again (pid " << agent.pid << ")\n";
    }
  }
  if (!running_pid(layout, "ingress", "cadre-ingress")) {
    std::ifstream in(layout.endpoints_file());
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(Endpoints endpoints, parse_endpoints(text.str()));
    std::vector<Started> started;
    auto address = start_ingress(layout, options, endpoints.ingresses, started);
    if (!address.ok()) {
      stop_started(layout, started);
      return address.status();
    }
    auto loaded = load_config(layout.config_file());
    const std::string ca = own_tls_certificate(layout, options);
    if (loaded.ok() && (loaded->ingress != address->url || loaded->ingress_ca != ca ||
                        loaded->ingress_grpc != address->grpc)) {
      loaded->ingress = address->url;
      loaded->ingress_ca = ca;
      loaded->ingress_grpc = address->grpc;
      RETURN_IF_ERROR(write_file_atomically(layout.config_file(), render_config(*loaded)));
      RETURN_IF_ERROR(
          write_file_atomically(layout.prometheus_config_file(),
                                render_prometheus_config(layout, endpoints, address->url, ca,
                                                         agent_metrics_targets(layout, options))));
    }
    out << "started the ingress again: " << address->url << "\n";
  }
  out << "cadre local cluster running in " << layout.root << " (coordinator pid " << coordinator
      << "); config " << layout.config_file() << "\n";
  return Status::Ok();
}

}  // namespace

Status local_up(const LocalUpOptions& options, std::ostream& out) {
  if (options.agents < 0) return InvalidArgument("--agents must be >= 0");
  const LocalLayout layout = LocalLayout::at(options.dir);
  LocalUpOptions resolved = options;
  if (auto pid = running_pid(layout, "coordinator", "cadre-coordinator")) {
    RETURN_IF_ERROR(resolve_tls(layout, resolved));
    return restart_missing_agents(layout, resolved, *pid, out);
  }
  RETURN_IF_ERROR(make_dirs(layout, options.agents));
  RETURN_IF_ERROR(ensure_keys(layout, options.agents));
  RETURN_IF_ERROR(resolve_tls(layout, resolved));
  const std::set<int> keep = keep_live_agents(layout, resolved, out);
  stop_leftover_agents(layout, keep, out);

  if (resolved.run_as.empty()) resolved.run_as = choose_run_as(layout, out);
  std::vector<Started> started;
  ClientConfig config;
  Status status = start_cluster(layout, resolved, keep, started, &config);
  if (!status.ok()) {
    stop_started(layout, started);
    return status;
  }
  out << "cadre local cluster up: coordinator " << config.coordinator << ", " << options.agents
      << (options.agents == 1 ? " agent" : " agents") << " Ready, ingress " << config.ingress
      << (config.ingress_grpc.empty() ? "" : " (gRPC " + config.ingress_grpc + ")") << "; config "
      << layout.config_file() << "\n";
  out << "metrics: prometheus --config.file=" << layout.prometheus_config_file() << "\n";
  if (layout.config_file() != LocalLayout::at("./.cadre").config_file()) {
    out << "use it with: cadre --config " << layout.config_file()
        << " ...  (or export CADRE_CONFIG=" << layout.config_file() << ")\n";
  }
  return Status::Ok();
}

Status local_down(const std::string& dir, std::chrono::milliseconds grace, std::ostream& out) {
  const LocalLayout layout = LocalLayout::at(dir);
  std::vector<Started> targets;
  for (const std::string& name : agent_pid_names(layout)) {
    targets.push_back({name, "cadre-agent", 0});
  }
  targets.push_back({"ingress", "cadre-ingress", 0});
  targets.push_back({"coordinator", "cadre-coordinator", 0});

  // Agents first, all at once, so none of them sees its coordinator vanish and
  // starts reconnecting; then the coordinator.
  int stopped = 0;
  for (Started& target : targets) {
    auto pid = running_pid(layout, target.name, target.program);
    if (pid) {
      target.pid = *pid;
      if (target.program != "cadre-coordinator") ::kill(*pid, SIGTERM);
    }
  }
  for (const Started& target : targets) {
    std::error_code ec;
    if (target.pid > 0) {
      bool killed = false;
      const bool gone = stop_process(target.pid, grace, &killed);
      out << (gone ? (killed ? "killed " : "stopped ") : "could not stop ") << target.name
          << " (pid " << target.pid << ")" << (killed ? " after it ignored SIGTERM" : "") << "\n";
      ++stopped;
      if (!gone) continue;  // keep its pid file: it still runs
    }
    fs::remove(layout.pid_file(target.name), ec);
  }
  std::error_code ec;
  fs::remove(layout.endpoints_file(), ec);
  if (stopped == 0) out << "no local cluster running in " << layout.root << "\n";
  return Status::Ok();
}

}  // namespace cadre::client

// Where `cadre local` keeps everything for one local cluster, and the command
// lines it starts. Pure: computed from the options, so it is unit-tested.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::client {

// DIR/
//   keys/{server,client,ingress,agent}.{key,pub}   generated once; a restart keeps them
//   keys/token                             a Cadre token for namespace default (0600)
//   coordinator/server.key                 the coordinator's --config-dir
//   coordinator/authorized/{clients,agents,ingresses}/*.pub   allowlists per role
//   state/                                 coordinator state (SQLite)
//   logs/{coordinator,ingress,agent-I}.log
//   agents/agent-I/                        agent work dirs
//   pids/{coordinator,ingress,agent-I}.pid
//   endpoints.json                         written by the coordinator once bound
//   ingress.json                           the ingress's HTTP port, once bound
//   config                                 the client config
struct LocalLayout {
  std::string root;  // absolute

  static LocalLayout at(const std::string& dir);  // makes `dir` absolute

  std::string keys_dir() const { return root + "/keys"; }
  std::string key_prefix(const std::string& role) const { return keys_dir() + "/" + role; }
  std::string coordinator_dir() const { return root + "/coordinator"; }
  std::string state_dir() const { return root + "/state"; }
  std::string logs_dir() const { return root + "/logs"; }
  std::string pids_dir() const { return root + "/pids"; }
  std::string endpoints_file() const { return root + "/endpoints.json"; }
  std::string config_file() const { return root + "/config"; }
  // A Prometheus config that scrapes this cluster: prometheus --config.file=...
  std::string prometheus_config_file() const { return root + "/prometheus.yml"; }
  std::string ingress_ports_file() const { return root + "/ingress.json"; }
  std::string token_file() const { return keys_dir() + "/token"; }
  // `local up --tls` without a certificate of its own: a self-signed one, made once.
  std::string tls_cert_file() const { return keys_dir() + "/ingress-tls.crt"; }
  std::string tls_key_file() const { return keys_dir() + "/ingress-tls.key"; }
  std::string agent_name(int i) const { return "agent-" + std::to_string(i); }
  // The node name agent i registers as (its key is bound to it).
  static std::string node_name(int i) { return "local-" + std::to_string(i); }
  std::string agent_work_dir(int i) const { return root + "/agents/" + agent_name(i); }
  // Where agent i writes its /metrics port (JSON {"metrics": PORT}).
  std::string agent_metrics_ports_file(int i) const { return agent_work_dir(i) + "/metrics.json"; }
  // The bearer token of every /metrics of the cluster (the coordinator makes it).
  std::string metrics_token_file() const { return coordinator_dir() + "/metrics.token"; }
  std::string log_file(const std::string& process) const {
    return logs_dir() + "/" + process + ".log";
  }
  std::string pid_file(const std::string& process) const {
    return pids_dir() + "/" + process + ".pid";
  }
};

struct LocalUpOptions {
  std::string dir = "./.cadre";  // where the cluster lives
  int agents = 2;                // number of agents
  int agent_port = 0;            // coordinator agent port; 0: the coordinator picks
  int client_port = 0;           // coordinator client port; 0: the coordinator picks
  int ingress_port = 0;          // coordinator ingress port; 0: the coordinator picks
  int metrics_port = 0;          // coordinator /metrics port; 0: the coordinator picks
  int http_port = 0;             // the ingress's HTTP port; 0: any free port
  int grpc_port = 0;             // the ingress's gRPC port; 0: any free port, -1: none
  // HTTPS at the ingress: with tls_cert/tls_key when given, else a self-signed
  // certificate made for 127.0.0.1 (LocalLayout::tls_cert_file) that the written
  // client config trusts (ingress_ca).
  bool tls = false;
  std::string tls_cert;
  std::string tls_key;
  std::optional<double> cpus_per_agent;  // default: what the agent detects
  int gpus_per_agent = 0;                // 0 keeps local clusters deterministic on GPU hosts
  double timeout_seconds = 15;           // for each start-up step
  // User the agents run replicas as when `local up` runs as root. Empty: cadre-run
  // when it exists and can reach the cluster folder and Cadre's programs, else root
  // (said so on the terminal). "root" runs them as root on purpose.
  std::string run_as;
};

std::vector<std::string> coordinator_command(const std::string& binary, const LocalLayout& layout,
                                             const LocalUpOptions& options);

std::vector<std::string> ingress_command(const std::string& binary, const LocalLayout& layout,
                                         const LocalUpOptions& options,
                                         const std::string& ingresses_endpoint);

std::vector<std::string> agent_command(const std::string& binary, const LocalLayout& layout,
                                       const LocalUpOptions& options, int index,
                                       const std::string& agents_endpoint);

// What the coordinator wrote to endpoints.json after binding.
struct Endpoints {
  std::string agents;     // tcp://127.0.0.1:PORT
  std::string clients;    // tcp://127.0.0.1:PORT
  std::string ingresses;  // tcp://127.0.0.1:PORT
  std::string metrics;    // http://127.0.0.1:PORT (its /metrics); "" when off
  long pid = 0;
};

Result<Endpoints> parse_endpoints(const std::string& json_text);

// A Prometheus config scraping the coordinator (with its metrics token) and the
// ingress of a local cluster; `ingress_url` is "http(s)://127.0.0.1:PORT" or "", and
// `ingress_ca` the certificates an https one is checked against ("": the system's);
// and the agents' /metrics at `agent_targets` ("127.0.0.1:PORT"), with the same token.
std::string render_prometheus_config(const LocalLayout& layout, const Endpoints& endpoints,
                                     const std::string& ingress_url, const std::string& ingress_ca,
                                     const std::vector<std::string>& agent_targets);

}  // namespace cadre::client

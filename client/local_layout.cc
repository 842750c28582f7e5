#include "client/local_layout.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace cadre::client {

LocalLayout LocalLayout::at(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(dir, ec);
  if (ec) path = dir;
  std::string root = path.lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return LocalLayout{root};
}

std::vector<std::string> coordinator_command(const std::string& binary, const LocalLayout& layout,
                                             const LocalUpOptions& options) {
  std::vector<std::string> argv = {binary,
                                   "--config-dir",
                                   layout.coordinator_dir(),
                                   "--state-dir",
                                   layout.state_dir(),
                                   "--bind-address",
                                   "127.0.0.1",
                                   "--agent-port",
                                   std::to_string(options.agent_port),
                                   "--client-port",
                                   std::to_string(options.client_port),
                                   "--ingress-port",
                                   std::to_string(options.ingress_port),
                                   "--metrics-port",
                                   std::to_string(options.metrics_port),
                                   "--endpoints-file",
                                   layout.endpoints_file()};
  // Operators (and tests) tune timeouts in DIR/coordinator/coordinator.yaml.
  const std::string tuning = layout.coordinator_dir() + "/coordinator.yaml";
  std::error_code ec;
  if (std::filesystem::exists(tuning, ec)) {
    argv.push_back("--config");
    argv.push_back(tuning);
  }
  return argv;
}

std::vector<std::string> ingress_command(const std::string& binary, const LocalLayout& layout,
                                         const LocalUpOptions& options,
                                         const std::string& ingresses_endpoint) {
  std::vector<std::string> argv = {binary,
                                   "--coordinator",
                                   ingresses_endpoint,
                                   "--server-key",
                                   layout.key_prefix("server") + ".pub",
                                   "--key",
                                   layout.key_prefix("ingress") + ".key",
                                   "--host",
                                   "127.0.0.1",
                                   "--http-port",
                                   std::to_string(options.http_port),
                                   "--grpc-port",
                                   std::to_string(options.grpc_port),
                                   "--ports-file",
                                   layout.ingress_ports_file()};
  if (options.tls) {
    argv.insert(argv.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
  }
  return argv;
}

std::vector<std::string> agent_command(const std::string& binary, const LocalLayout& layout,
                                       const LocalUpOptions& options, int index,
                                       const std::string& agents_endpoint) {
  std::vector<std::string> argv = {binary,
                                   "--coordinator",
                                   agents_endpoint,
                                   "--server-key",
                                   layout.key_prefix("server") + ".pub",
                                   "--key",
                                   layout.key_prefix(layout.agent_name(index)) + ".key",
                                   "--name",
                                   LocalLayout::node_name(index),
                                   "--address",
                                   "127.0.0.1",
                                   "--work-dir",
                                   layout.agent_work_dir(index),
                                   "--metrics-port",
                                   "0",
                                   "--metrics-token-file",
                                   layout.metrics_token_file(),
                                   "--metrics-ports-file",
                                   layout.agent_metrics_ports_file(index)};
  if (options.cpus_per_agent) {
    char cpus[32];
    std::snprintf(cpus, sizeof(cpus), "%g", *options.cpus_per_agent);
    argv.insert(argv.end(), {"--cpus", cpus});
  }
  argv.insert(argv.end(), {"--gpus", std::to_string(options.gpus_per_agent)});
  if (!options.run_as.empty()) {
    argv.insert(argv.end(), {"--run-as", options.run_as});
    if (options.run_as == "root" || options.run_as == "0") argv.push_back("--allow-root-replicas");
  }
  return argv;
}

Result<Endpoints> parse_endpoints(const std::string& json_text) {
  try {
    const nlohmann::json json = nlohmann::json::parse(json_text);
    Endpoints endpoints;
    endpoints.agents = json.at("agents").get<std::string>();
    endpoints.clients = json.at("clients").get<std::string>();
    endpoints.ingresses = json.value("ingresses", "");
    endpoints.metrics = json.value("metrics", "");
    if (json.contains("pid")) endpoints.pid = json.at("pid").get<long>();
    return endpoints;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("endpoints file is not {agents, clients, pid}: ") +
                           e.what());
  }
}

std::string render_prometheus_config(const LocalLayout& layout, const Endpoints& endpoints,
                                     const std::string& ingress_url, const std::string& ingress_ca,
                                     const std::vector<std::string>& agent_targets) {
  auto host_port = [](const std::string& url) {
    const auto scheme = url.find("://");
    return scheme == std::string::npos ? url : url.substr(scheme + 3);
  };
  std::string text =
      "# Written by `cadre local up`: prometheus --config.file=" + layout.prometheus_config_file() +
      "\n# (scripts/prometheus/prometheus.yml is the same for a cluster on real nodes.)\n"
      "global: {scrape_interval: 5s}\nscrape_configs:\n";
  if (!endpoints.metrics.empty()) {
    text += "  - job_name: cadre-coordinator\n    authorization: {credentials_file: " +
            layout.metrics_token_file() + "}\n    static_configs: [{targets: [\"" +
            host_port(endpoints.metrics) + "\"]}]\n";
  }
  if (!agent_targets.empty()) {
    std::string targets;
    for (const auto& t : agent_targets) targets += (targets.empty() ? "\"" : ", \"") + t + "\"";
    text += "  - job_name: cadre-agent\n    authorization: {credentials_file: " +
            layout.metrics_token_file() + "}\n    static_configs: [{targets: [" + targets + "]}]\n";
  }
  if (!ingress_url.empty()) {
    text += "  - job_name: cadre-ingress\n";
    if (ingress_url.rfind("https://", 0) == 0) {
      text += "    scheme: https\n";
      if (!ingress_ca.empty()) text += "    tls_config: {ca_file: " + ingress_ca + "}\n";
    }
    text += "    static_configs: [{targets: [\"" + host_port(ingress_url) + "\"]}]\n";
  }
  return text;
}

}  // namespace cadre::client

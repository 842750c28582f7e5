// cadre-agent: registers this node with the coordinator and runs its replicas.
#include <csignal>
#include <cstdio>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "protocol/atomic_file.h"
#include "serving/http/metrics_endpoint.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  // A coordinator that vanishes mid-write must not kill the agent (and with it,
  // through PDEATHSIG, every replica).
  std::signal(SIGPIPE, SIG_IGN);
}

// The agent's options from its configuration and what it found on the node.
cadre::Result<cadre::agent::AgentOptions> agent_options(const cadre::agent::AgentConfig& config,
                                                        const cadre::agent::NodeResources& found) {
  cadre::agent::AgentOptions options;
  options.name = config.name;
  options.address = config.address;
  options.work_dir = config.work_dir;
  options.labels = config.labels;
  options.resources = found;
  options.port_min = config.port_min;
  options.port_max = config.port_max;
  options.link.endpoint = config.coordinator;
  options.link.insecure = config.insecure;
  options.link.key_file = config.key;
  options.link.server_key_file = config.server_key;
  options.link.max_message_bytes = config.max_message_bytes;
  options.shutdown_grace =
      std::chrono::milliseconds(static_cast<int64_t>(config.shutdown_grace_s * 1000));

  ASSIGN_OR_RETURN(options.sandbox, cadre::agent::make_replica_sandbox(config.sandbox));
  options.sandbox.gpu_minors = found.gpu_minors;
  if (found.gpus > 0 && !(options.sandbox.cgroups && options.sandbox.cgroups->isolates_devices())) {
    spdlog::warn(
        "node={} replica cgroups cannot deny devices (no v1 devices hierarchy, no BPF "
        "device programs): replicas are kept to their GPUs by CUDA_VISIBLE_DEVICES only "
        "and could open the others' device files",
        config.name);
  }
  return options;
}

// The node's metrics endpoint (token-protected), its port written where the
// configuration asks; sets options->metrics, which the endpoint renders.
cadre::Result<std::unique_ptr<cadre::serving::http::MetricsEndpoint>> start_metrics(
    const cadre::agent::AgentConfig& config, cadre::agent::AgentOptions* options) {
  using cadre::serving::http::MetricsEndpoint;
  cadre::agent::AgentMetricsOptions metrics;
  metrics.node = config.name;
  if (options->sandbox.cgroups) metrics.cgroups = options->sandbox.cgroups->version();
  options->metrics = std::make_shared<cadre::agent::AgentMetrics>(metrics);
  ASSIGN_OR_RETURN(const std::string token,
                   cadre::serving::http::load_or_create_metrics_token(config.metrics_token_file));
  auto endpoint = MetricsEndpoint::Create({config.metrics_host, config.metrics_port, token},
                                          [m = options->metrics] { return m->render(); });
  if (!endpoint.ok()) return endpoint.status().annotate("--metrics-port");
  if (!config.metrics_ports_file.empty()) {
    RETURN_IF_ERROR(
        cadre::write_file_atomically(config.metrics_ports_file,
                                     "{\"metrics\":" + std::to_string((*endpoint)->port()) + "}\n")
            .annotate("--metrics-ports-file"));
  }
  spdlog::info("node={} metrics on {}:{}/metrics", config.name, config.metrics_host,
               (*endpoint)->port());
  return endpoint;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cadre::agent;
  ParsedCommandLine parsed = parse_agent_command_line(argc, argv);
  if (!parsed.config) return parsed.exit_code;
  const AgentConfig& config = *parsed.config;

  auto logger = spdlog::stderr_color_mt("cadre-agent");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  auto resources = discover_resources(config.resources);
  if (!resources.ok()) {
    std::fprintf(stderr, "cadre-agent: %s\n", resources.status().message().c_str());
    return 2;
  }
  if (config.insecure) {
    spdlog::warn(
        "node={} --insecure: the link to the coordinator is neither encrypted nor "
        "authenticated",
        config.name);
  }
  auto options = agent_options(config, *resources);
  if (!options.ok()) {
    std::fprintf(stderr, "cadre-agent: %s\n", options.status().message().c_str());
    return 2;
  }
  std::unique_ptr<cadre::serving::http::MetricsEndpoint> metrics_endpoint;
  if (config.metrics_port >= 0) {
    auto started = start_metrics(config, &*options);
    if (!started.ok()) {
      std::fprintf(stderr, "cadre-agent: %s\n", started.status().message().c_str());
      return 2;
    }
    metrics_endpoint = std::move(*started);
  }

  install_signal_handlers();
  auto agent = Agent::Create(*options);
  if (!agent.ok()) {
    std::fprintf(stderr, "cadre-agent: %s\n", agent.status().message().c_str());
    const auto code = agent.status().code();
    return code == cadre::StatusCode::kInvalidArgument || code == cadre::StatusCode::kNotFound ? 2
                                                                                               : 1;
  }
  const cadre::Status status = (*agent)->run([] { return g_stop != 0; });
  if (!status.ok()) {
    spdlog::error("node={} agent failed: {}", config.name, status.message());
    return 1;
  }
  spdlog::info("node={} agent stopped", config.name);
  return 0;
}

// cadre-agent: registers this node with the coordinator and runs its replicas.
#include <csignal>
#include <cstdio>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "agent/agent_config.h"

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

  AgentOptions options;
  options.name = config.name;
  options.address = config.address;
  options.work_dir = config.work_dir;
  options.labels = config.labels;
  options.resources = *resources;
  options.port_min = config.port_min;
  options.port_max = config.port_max;
  options.link.endpoint = config.coordinator;
  options.link.insecure = config.insecure;
  options.link.key_file = config.key;
  options.link.server_key_file = config.server_key;
  options.link.max_message_bytes = config.max_message_bytes;
  options.shutdown_grace =
      std::chrono::milliseconds(static_cast<int64_t>(config.shutdown_grace_s * 1000));

  auto sandbox = make_replica_sandbox(config.sandbox);
  if (!sandbox.ok()) {
    std::fprintf(stderr, "cadre-agent: %s\n", sandbox.status().message().c_str());
    return 2;
  }
  options.sandbox = std::move(*sandbox);

  install_signal_handlers();
  auto agent = Agent::Create(options);
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

// cadre-rsh: Cadre's remote shell for MPI jobs (docs/mpi.md).
//   cadre-rsh serve [--port N] [--bind ADDR] [--max-sessions N] [--log-level L]
//   cadre-rsh [ssh options, ignored] HOST COMMAND...
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/rsh/rsh_client.h"
#include "agent/rsh/rsh_config.h"
#include "agent/rsh/rsh_server.h"

namespace {

using namespace cadre::agent::rsh;

// ssh's exit code for "could not run the command at all".
constexpr int kClientFailure = 255;

constexpr const char* kUsage =
    "usage: cadre-rsh serve [--port N] [--bind ADDR] [--max-sessions N] [--log-level L]\n"
    "       cadre-rsh [ssh options, ignored] HOST COMMAND...\n"
    "serve runs on an MPI Worker replica (port: the CADRE_RANK-th entry of CADRE_PEERS);\n"
    "the client form is mpirun's rsh agent on the Launcher (HOST looked up in\n"
    "CADRE_MPI_HOSTS). Both authenticate with CADRE_JOB_TOKEN. See docs/mpi.md.\n";

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

int serve_main(const std::vector<std::string>& args) {
  auto config = parse_serve_config(args, process_environment());
  if (!config.ok()) {
    std::fprintf(stderr, "cadre-rsh serve: %s\n%s", config.status().message().c_str(), kUsage);
    return 2;
  }
  auto logger = spdlog::stderr_color_mt("cadre-rsh");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client is an error value, not a signal

  RshServerOptions options;
  options.bind_address = config->bind_address;
  options.port = config->port;
  options.max_sessions = config->max_sessions;
  options.session.token = config->token;
  options.session.entity = config->entity;
  options.session.command_env["PATH"] = config->command_path;
  options.session.auth_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(config->auth_timeout_s * 1000));
  options.session.kill_grace =
      std::chrono::milliseconds(static_cast<int64_t>(config->kill_grace_s * 1000));
  auto server = RshServer::Create(options);
  if (!server.ok()) {
    spdlog::error("{} cannot serve: {}", config->entity, server.status().message());
    return server.status().code() == cadre::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const cadre::Status status = (*server)->run([] { return g_stop != 0; });
  if (!status.ok()) {
    spdlog::error("{} cadre-rsh failed: {}", config->entity, status.message());
    return 1;
  }
  spdlog::info("{} cadre-rsh stopped", config->entity);
  return 0;
}

int client_main(const std::vector<std::string>& args) {
  std::signal(SIGPIPE, SIG_IGN);
  auto config = parse_client_config(args, process_environment());
  if (!config.ok()) {
    std::fprintf(stderr, "cadre-rsh: %s\n", config.status().message().c_str());
    return kClientFailure;
  }
  auto exit_code = run_remote(*config);
  if (!exit_code.ok()) {
    std::fprintf(stderr, "cadre-rsh: host %s (%s): %s\n", config->host.c_str(),
                 config->endpoint.to_string().c_str(), exit_code.status().message().c_str());
    return kClientFailure;
  }
  return *exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" ||
      (is_serve_invocation(args) && args.size() > 1 && args[1] == "--help")) {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kClientFailure : 0;
  }
  if (is_serve_invocation(args)) return serve_main({args.begin() + 1, args.end()});
  return client_main(args);
}

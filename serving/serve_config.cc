#include "serving/serve_config.h"

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "protocol/config_file.h"

namespace cadre::serving {
namespace {

void declare_flags(CLI::App& app, ServeConfig& c) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config", c.config_file,
                 "YAML file with any of these settings as keys (flags override it)");
  app.add_option(
         "--model-repository", c.model_repository,
         "Model repository folder (Triton layout: <model>/config.pbtxt, <model>/<version>/)")
      ->required();
  app.add_option("--host", c.host, "Address every listener binds")->capture_default_str();
  app.add_option("--http-port", c.http_port, "HTTP/REST port (0: any free port, -1: off)")
      ->capture_default_str();
  app.add_option("--grpc-port", c.grpc_port, "gRPC port (0: any free port, -1: off)")
      ->capture_default_str();
  app.add_option("--metrics-port", c.metrics_port,
                 "Prometheus metrics port, GET /metrics (0: any free port, -1: off)")
      ->capture_default_str();
  app.add_option("--model-control-mode", c.model_control_mode,
                 "none: load every model at start; explicit: the repository API loads and "
                 "unloads; poll: rescan the repository and reload changed versions")
      ->capture_default_str();
  app.add_option("--load-model", c.load_models, "Explicit mode: a model to load at start")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--repository-poll-secs", c.repository_poll_secs,
                 "Poll mode: seconds between repository scans")
      ->capture_default_str();
  app.add_option("--http-threads", c.http_threads,
                 "Event loops (a thread each) serving HTTP connections")
      ->capture_default_str();
  app.add_option("--max-request-bytes", c.max_request_bytes,
                 "Largest request body (HTTP, chunked included) or gRPC message; larger is 413 "
                 "/ RESOURCE_EXHAUSTED")
      ->capture_default_str();
  app.add_option("--http-max-connections", c.http_max_connections,
                 "Open HTTP connections at most; more are closed on accept")
      ->capture_default_str();
  app.add_option("--http-request-timeout-secs", c.http_request_timeout_secs,
                 "A whole HTTP request must arrive within this (slow clients are cut off)")
      ->capture_default_str();
  app.add_option("--http-idle-timeout-secs", c.http_idle_timeout_secs,
                 "An idle keep-alive connection is closed after this")
      ->capture_default_str();
  app.add_option("--max-queue-size", c.max_queue_size,
                 "Queued requests per model version at most, whatever its config says")
      ->capture_default_str();
  app.add_option("--max-tensor-elements", c.max_tensor_elements,
                 "Elements per input tensor at most")
      ->capture_default_str();
  app.add_option("--max-json-elements", c.max_json_elements,
                 "Tensor elements sent as JSON numbers per request at most (binary data has "
                 "no such limit)")
      ->capture_default_str();
  app.add_option("--cpu-threads-per-instance", c.cpu_threads_per_instance,
                 "CPU threads one model instance computes with")
      ->capture_default_str();
  app.add_option("--drain-timeout-secs", c.drain_timeout_secs,
                 "On SIGTERM, how long in-flight gRPC calls may take to finish")
      ->capture_default_str();
  app.add_option("--auth-token-file", c.auth_token_file,
                 "File whose first line is the bearer token every request must carry "
                 "(HTTP Authorization header, gRPC authorization metadata); health is public");
  app.add_option("--auth-token-env", c.auth_token_env,
                 "Name of an environment variable holding the bearer token (e.g. "
                 "CADRE_JOB_TOKEN in a replica), instead of a file");
  app.add_flag("--allow-unauthenticated", c.allow_unauthenticated,
               "Serve without a token on an address other than loopback (explicit opt-out)");
  app.add_option("--ports-file", c.ports_file,
                 "Write the bound ports here as JSON once listening (for port 0)");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The bearer token from --auth-token-file or --auth-token-env; empty if neither.
Result<std::string> read_token(const ServeConfig& c) {
  if (!c.auth_token_file.empty() && !c.auth_token_env.empty())
    return InvalidArgument("--auth-token-file and --auth-token-env: give one, not both");
  std::string token;
  std::string source;
  if (!c.auth_token_file.empty()) {
    source = "--auth-token-file " + c.auth_token_file;
    std::ifstream in(c.auth_token_file);
    if (!in) return NotFound(source + ": cannot be read");
    std::getline(in, token);
  } else if (!c.auth_token_env.empty()) {
    source = "--auth-token-env " + c.auth_token_env;
    // Read once here, where the setting is resolved, like every other input.
    const char* value = std::getenv(c.auth_token_env.c_str());
    if (!value) return NotFound(source + ": the variable is not set");
    token = value;
  } else {
    return std::string();
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 16 || token.size() > 4096)
    return InvalidArgument(source + ": a token has 16 to 4096 characters, this one " +
                           std::to_string(token.size()));
  for (char ch : token)
    if (ch <= ' ' || ch > '~')
      return InvalidArgument(source + ": a token is printable ASCII without spaces");
  return token;
}

Status resolve(ServeConfig& c) {
  ASSIGN_OR_RETURN(c.server.control_mode, parse_model_control_mode(c.model_control_mode));
  for (auto [name, port] : {std::pair<const char*, int>{"--http-port", c.http_port},
                            {"--grpc-port", c.grpc_port},
                            {"--metrics-port", c.metrics_port}})
    if (port < -1 || port > 65535)
      return InvalidArgument(std::string(name) + ": " + std::to_string(port) +
                             " is not a port (0..65535, or -1 for off)");
  if (c.http_threads < 1 || c.http_threads > 256)
    return InvalidArgument("--http-threads: must be in [1, 256]");
  if (c.max_request_bytes < 1024 || c.max_request_bytes > (int64_t{1} << 31) - 1)
    return InvalidArgument("--max-request-bytes: must be in [1024, 2147483647]");
  if (c.http_max_connections < 1) return InvalidArgument("--http-max-connections: must be >= 1");
  if (c.http_request_timeout_secs <= 0 || c.http_idle_timeout_secs <= 0)
    return InvalidArgument("--http-request-timeout-secs and --http-idle-timeout-secs: must be > 0");
  if (c.max_queue_size < 1) return InvalidArgument("--max-queue-size: must be >= 1");
  if (c.max_tensor_elements < 1) return InvalidArgument("--max-tensor-elements: must be >= 1");
  if (c.max_json_elements < 1) return InvalidArgument("--max-json-elements: must be >= 1");
  if (c.cpu_threads_per_instance < 1 || c.cpu_threads_per_instance > 256)
    return InvalidArgument("--cpu-threads-per-instance: must be in [1, 256]");
  if (c.repository_poll_secs <= 0) return InvalidArgument("--repository-poll-secs: must be > 0");

  ASSIGN_OR_RETURN(const std::string token, read_token(c));
  if (token.empty() && !is_loopback(c.host) && !c.allow_unauthenticated)
    return InvalidArgument("--host " + c.host +
                           ": serving beyond loopback needs --auth-token-file or "
                           "--auth-token-env (or --allow-unauthenticated)");

  c.server.model_repository = c.model_repository;
  c.server.startup_models = c.load_models;
  c.server.poll_interval =
      std::chrono::milliseconds(static_cast<int64_t>(c.repository_poll_secs * 1000));
  c.server.cpu_threads_per_instance = c.cpu_threads_per_instance;
  c.server.max_queue_size = static_cast<size_t>(c.max_queue_size);
  c.server.max_tensor_elements = c.max_tensor_elements;

  c.http.name = "http";
  c.http.host = c.host;
  c.http.port = c.http_port;
  c.http.threads = c.http_threads;
  c.http.max_body_bytes = static_cast<size_t>(c.max_request_bytes);
  c.http.max_connections = c.http_max_connections;
  c.http.request_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(c.http_request_timeout_secs * 1000));
  c.http.idle_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(c.http_idle_timeout_secs * 1000));
  c.http.bearer_token = token;
  c.http.public_path_prefixes = {"/v2/health/"};  // probes need no secret
  c.metrics = c.http;
  c.metrics.public_path_prefixes.clear();
  c.metrics.name = "metrics";
  c.metrics.port = c.metrics_port;
  c.metrics.threads = 1;
  c.metrics.max_body_bytes = 1024;
  c.metrics.max_connections = 64;

  c.routes.limits.max_json_elements = c.max_json_elements;
  c.routes.server_version = CADRE_VERSION;

  c.grpc.host = c.host;
  c.grpc.port = c.grpc_port;
  c.grpc.max_message_bytes = static_cast<size_t>(c.max_request_bytes);
  c.grpc.server_version = CADRE_VERSION;
  c.grpc.bearer_token = token;
  return Status::Ok();
}

}  // namespace

ParsedServeCommandLine parse_serve_command_line(int argc, const char* const* argv) {
  ServeConfig c;
  CLI::App app{"cadre-serve: the inference server (Open Inference Protocol over HTTP and gRPC)"};
  declare_flags(app, c);
  auto parsed = cadre::config::parse_command_line(app, argc, argv, std::cout);
  if (!parsed.ok()) {
    std::cerr << "cadre-serve: " << parsed.status().message() << "\n";
    return {std::nullopt, 2};
  }
  if (*parsed == cadre::config::Parsed::kHelpShown) return {std::nullopt, 0};
  const Status s = resolve(c);
  if (!s.ok()) {
    std::cerr << "cadre-serve: " << s.message() << "\n";
    return {std::nullopt, 2};
  }
  return {c, 0};
}

}  // namespace cadre::serving

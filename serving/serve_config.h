// Every setting of cadre-serve, declared once (declare_flags in serve_config.cc):
// flag, default and one-line doc together; the same names are the keys of the
// optional YAML file given by --config. Flags override the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "serving/grpc/grpc_server.h"
#include "serving/http/http_server.h"
#include "serving/http/v2_http_routes.h"
#include "serving/inference_server.h"

namespace cadre::serving {

struct ServeConfig {
  std::string config_file;
  std::string model_repository;
  std::string host = "127.0.0.1";
  int http_port = 8000;  // 0: any free port; -1: off
  int grpc_port = 8001;
  int metrics_port = 8002;
  std::string model_control_mode = "none";
  std::vector<std::string> load_models;
  double repository_poll_secs = 15;
  int http_threads = 2;
  int64_t max_request_bytes = 64ll << 20;
  int http_max_connections = 1024;
  double http_request_timeout_secs = 30;
  double http_idle_timeout_secs = 60;
  int64_t max_queue_size = 16384;
  int64_t max_tensor_elements = 1ll << 26;
  int64_t max_json_elements = 1ll << 22;
  int cpu_threads_per_instance = 1;
  double drain_timeout_secs = 30;
  std::string auth_token_file;
  std::string auth_token_env;
  bool allow_unauthenticated = false;
  std::string ports_file;
  std::string log_level = "info";

  // Resolved by parse_serve_command_line.
  ServerOptions server;
  http::HttpServerOptions http;
  http::HttpServerOptions metrics;
  http::V2RoutesOptions routes;
  grpc_frontend::GrpcServerOptions grpc;
};

struct ParsedServeCommandLine {
  std::optional<ServeConfig> config;
  int exit_code = 0;
};

// Parses and validates; prints --help or the error (naming the flag) itself.
ParsedServeCommandLine parse_serve_command_line(int argc, const char* const* argv);

}  // namespace cadre::serving

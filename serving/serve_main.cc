// cadre-serve: loads a model repository and serves it over the Open Inference
// Protocol (HTTP/REST and gRPC), with Prometheus metrics. SIGTERM drains: the
// listeners stop accepting, every queued and running request is answered, new
// ones are refused, then the process exits 0.
#include <signal.h>

#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "protocol/atomic_file.h"
#include "serving/serve_config.h"

using namespace cadre;
using namespace cadre::serving;

namespace {

int wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

template <typename T>
int run_or_exit(Result<T>& r, const char* what) {
  if (r.ok()) return 0;
  spdlog::critical("{}: {}", what, r.status().message());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_serve_command_line(argc, argv);
  if (!parsed.config) return parsed.exit_code;
  const ServeConfig& config = *parsed.config;
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  // Signals are taken by sigwait on this thread only; every thread started
  // below inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = InferenceServer::Create(config.server);
  if (int rc = run_or_exit(server, "model repository")) return rc;

  nlohmann::json ports = nlohmann::json::object();
  std::unique_ptr<http::HttpServer> http_server, metrics_server;
  std::unique_ptr<grpc_frontend::GrpcServer> grpc_server;
  if (config.http_port >= 0) {
    auto s =
        http::HttpServer::Create(config.http, http::make_v2_handler(server->get(), config.routes));
    if (int rc = run_or_exit(s, "http")) return rc;
    http_server = std::move(s).value();
    ports["http"] = http_server->port();
  }
  if (config.grpc_port >= 0) {
    auto s = grpc_frontend::GrpcServer::Create(config.grpc, server->get());
    if (int rc = run_or_exit(s, "grpc")) return rc;
    grpc_server = std::move(s).value();
    ports["grpc"] = grpc_server->port();
  }
  if (config.metrics_port >= 0) {
    auto s = http::HttpServer::Create(config.metrics, http::make_metrics_handler(server->get()));
    if (int rc = run_or_exit(s, "metrics")) return rc;
    metrics_server = std::move(s).value();
    ports["metrics"] = metrics_server->port();
  }
  if (!config.ports_file.empty()) {
    // Whoever started it waits for this file to learn the ports: not written, it fails.
    const cadre::Status written =
        cadre::write_file_atomically(config.ports_file, ports.dump() + "\n");
    if (!written.ok()) {
      spdlog::error("--ports-file: {}", written.message());
      return 1;
    }
  }
  spdlog::info("cadre-serve {} on {}: {} (models ready: {})", CADRE_VERSION, config.host,
               ports.dump(), (*server)->ready() ? "all" : "not all");

  const int sig = wait_for_signal();
  spdlog::info("signal {}: draining", sig);
  if (http_server) {
    // A request whose head was read before the signal is in flight: it reaches the
    // server before the drain refuses new ones.
    http_server->stop_accepting();
    if (!http_server->wait_for_requests_read(
            std::chrono::milliseconds(static_cast<int64_t>(config.drain_timeout_secs * 1000)))) {
      spdlog::warn("requests still being read after {} s; draining without them",
                   config.drain_timeout_secs);
    }
  }
  std::thread grpc_drain([&] {
    if (grpc_server)
      grpc_server->shutdown(
          std::chrono::milliseconds(static_cast<int64_t>(config.drain_timeout_secs * 1000)));
  });
  (*server)->drain();  // answers every queued request; refuses new ones
  grpc_drain.join();
  // Let the answers already handed to HTTP connections be written.
  for (int i = 0; i < 20 && http_server && http_server->open_connections() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (http_server) http_server->stop();
  if (metrics_server) metrics_server->stop();
  spdlog::info("drained; exiting");
  return 0;
}

#include "ingress/ingress_config.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <sstream>

#include "protocol/config_file.h"

namespace cadre::ingress {
namespace {

void declare_flags(CLI::App& app, IngressConfig& c) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config", c.config_file, "YAML file of these settings (flags override it)");
  app.add_option("--coordinator", c.coordinator, "the coordinator's ingress endpoint")
      ->capture_default_str();
  app.add_option("--server-key", c.server_key, "the coordinator's public key (.pub)");
  app.add_option("--key", c.key, "this ingress's key pair (.key), allowed as an ingress");
  app.add_flag("--insecure", c.insecure, "no CURVE (only with a coordinator run --insecure)");
  app.add_option("--host", c.host, "interface users reach the ingress on")->capture_default_str();
  app.add_option("--http-port", c.http_port, "HTTP port (0: any free port)")->capture_default_str();
  app.add_option("--grpc-port", c.grpc_port,
                 "gRPC port of the Open Inference Protocol (0: any free port, -1: none)")
      ->capture_default_str();
  app.add_option("--url", c.url,
                 "how users reach it (default http://HOST:PORT, https:// with --tls-cert)");
  app.add_option("--tls-cert", c.tls_cert,
                 "serve HTTPS with this PEM certificate chain (server certificate first)");
  app.add_option("--tls-key", c.tls_key, "the PEM private key of --tls-cert");
  app.add_option("--http-threads", c.http_threads,
                 "event loops (a thread each) serving users and talking to replicas")
      ->capture_default_str();
  app.add_option("--idle-poll-us", c.idle_poll_us,
                 "microseconds an event loop out of work polls before it sleeps (0: none; "
                 "for an ingress with cores of its own)")
      ->capture_default_str();
  app.add_option("--max-connections", c.max_connections, "users' open connections, at most")
      ->capture_default_str();
  app.add_option("--max-request-bytes", c.max_request_bytes, "largest request body")
      ->capture_default_str();
  app.add_option("--poll-interval", c.poll_interval_secs, "seconds between route polls")
      ->capture_default_str();
  app.add_option("--max-retries", c.max_retries,
                 "other replicas tried for a request that reached none")
      ->capture_default_str();
  app.add_option("--api-threads", c.api_threads,
                 "connections to the coordinator serving the HTTP API (/api/v1/)")
      ->capture_default_str();
  app.add_option("--api-max-queued", c.api_max_queued,
                 "HTTP API calls waiting for a connection; past this, 503")
      ->capture_default_str();
  app.add_option("--watch-interval", c.watch_interval_secs,
                 "seconds between the reads of a watch stream (/api/v1/watch/...)")
      ->capture_default_str();
  app.add_option("--max-watch-streams", c.max_watch_streams,
                 "watch streams open at once; past this, 503")
      ->capture_default_str();
  app.add_option("--web-root", c.web_root,
                 "the built web dashboard (index.html, assets/); default: "
                 "../share/cadre/web from the binary");
  app.add_option("--max-held-requests", c.max_held_requests,
                 "requests held per service while it is at zero replicas or at its "
                 "containerConcurrency; past this, 503")
      ->capture_default_str();
  app.add_option("--held-poll-interval", c.held_poll_interval_secs,
                 "seconds between route polls while requests are held, so a replica started "
                 "from zero is used as soon as it is ready")
      ->capture_default_str();
  app.add_option("--notebook-activity-interval", c.notebook_activity_secs,
                 "seconds between reads of running notebooks' activity (for culling)")
      ->capture_default_str();
  app.add_option("--notebook-idle-timeout", c.notebook_idle_timeout_secs,
                 "seconds after which a notebook WebSocket that carried nothing is closed")
      ->capture_default_str();
  app.add_option("--session-hours", c.session_hours, "how long a browser login lasts")
      ->capture_default_str();
  app.add_option("--ports-file", c.ports_file, "write the bound ports here as JSON");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

std::string validate(const IngressConfig& c) {
  if (c.http_port < 0 || c.http_port > 65535) {
    return "--http-port: " + std::to_string(c.http_port) + " is not a port";
  }
  if (c.grpc_port < -1 || c.grpc_port > 65535) {
    return "--grpc-port: " + std::to_string(c.grpc_port) + " is not a port (-1: none)";
  }
  if (c.http_threads < 1 || c.http_threads > 64) return "--http-threads: must be 1..64";
  if (c.idle_poll_us < 0 || c.idle_poll_us > 100000) {
    return "--idle-poll-us: must be 0..100000 microseconds";
  }
  if (c.max_connections < 1) return "--max-connections: must be >= 1";
  if (c.max_request_bytes < 1) return "--max-request-bytes: must be >= 1";
  if (!(c.poll_interval_secs >= 0.01 && c.poll_interval_secs <= 10)) {
    return "--poll-interval: must be 0.01..10 seconds";
  }
  if (c.max_retries < 0 || c.max_retries > 10) return "--max-retries: must be 0..10";
  if (c.api_threads < 1 || c.api_threads > 64) return "--api-threads: must be 1..64";
  if (!(c.watch_interval_secs >= 0.05 && c.watch_interval_secs <= 60)) {
    return "--watch-interval: must be 0.05..60 seconds";
  }
  if (c.max_watch_streams < 1 || c.max_watch_streams > 100000) {
    return "--max-watch-streams: must be 1..100000";
  }
  if (c.api_max_queued < 1 || c.api_max_queued > 100000) {
    return "--api-max-queued: must be 1..100000";
  }
  if (c.max_held_requests < 1 || c.max_held_requests > 100000) {
    return "--max-held-requests: must be 1..100000";
  }
  if (!(c.held_poll_interval_secs >= 0.005 && c.held_poll_interval_secs <= 10)) {
    return "--held-poll-interval: must be 0.005..10 seconds";
  }
  if (!(c.notebook_activity_secs >= 0.1 && c.notebook_activity_secs <= 3600)) {
    return "--notebook-activity-interval: must be 0.1..3600 seconds";
  }
  if (!(c.notebook_idle_timeout_secs >= 1 && c.notebook_idle_timeout_secs <= 7 * 86400)) {
    return "--notebook-idle-timeout: must be 1..604800 seconds";
  }
  if (!(c.session_hours > 0 && c.session_hours <= 24 * 30)) {
    return "--session-hours: must be > 0 and at most 720";
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return c.tls_cert.empty() ? "--tls-key: needs --tls-cert too"
                              : "--tls-cert: needs --tls-key too";
  }
  if (!c.insecure && (c.key.empty() || c.server_key.empty())) {
    return "--key and --server-key are required (or --insecure against a coordinator run so)";
  }
  return "";
}

}  // namespace

ParsedIngressCommandLine parse_ingress_command_line(int argc, const char* const* argv) {
  IngressConfig config;
  CLI::App app("cadre-ingress: the HTTP front door to Cadre's inference services and notebooks",
               "cadre-ingress");
  declare_flags(app, config);
  std::ostringstream help;
  auto parsed = config::parse_command_line(app, argc, argv, help);
  if (!parsed.ok()) {
    std::cerr << "cadre-ingress: " << parsed.status().message()
              << "\nRun with --help for the settings.\n";
    return {std::nullopt, 2};
  }
  if (*parsed == config::Parsed::kHelpShown) {
    std::cout << help.str();
    return {std::nullopt, 0};
  }
  const std::string error = validate(config);
  if (!error.empty()) {
    std::cerr << "cadre-ingress: " << error << "\n";
    return {std::nullopt, 2};
  }
  return {std::move(config), 0};
}

}  // namespace cadre::ingress

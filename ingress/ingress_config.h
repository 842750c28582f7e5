// Every setting of cadre-ingress, declared once (declare_flags in
// ingress_config.cc): flag, default and one-line doc together; the same names are
// the keys of the optional YAML file given by --config. Flags override the file.
#pragma once

#include <optional>
#include <string>

namespace cadre::ingress {

struct IngressConfig {
  std::string config_file;
  std::string coordinator = "tcp://127.0.0.1:7072";  // the coordinator's ingress port
  std::string server_key;                            // coordinator's public key (.pub)
  std::string key;                                   // this ingress's key pair (.key)
  bool insecure = false;                             // no CURVE (a coordinator run so)
  std::string host = "127.0.0.1";                    // where users reach the ingress
  int http_port = 8080;                              // 0: any free port
  int grpc_port = 8081;  // the V2 gRPC service; 0: any free port, -1: none
  std::string url;       // how users reach it; default http(s)://<host>:<port>
  // HTTPS on the front door when both are set (PEM files); plain HTTP otherwise.
  std::string tls_cert;
  std::string tls_key;
  // Event loops, one thread each: a connection's requests and their requests to
  // replicas run on its loop, never changing threads.
  int http_threads = 2;
  // Microseconds a loop out of work polls before it sleeps: lower latency where
  // the ingress has cores of its own, CPU taken from others where it does not.
  int idle_poll_us = 0;
  int max_connections = 4096;
  int64_t max_request_bytes = 64ll << 20;
  double poll_interval_secs = 0.25;  // how often the routes are asked for
  int max_retries = 2;               // other replicas tried when one cannot be reached
  int api_threads = 2;               // connections to the coordinator that serve the HTTP API
  int api_max_queued = 256;          // API calls waiting for one; past this, 503
  double watch_interval_secs = 1;    // a watch stream reads again this often
  int max_watch_streams = 256;       // watch streams open at once; past this, 503
  int max_held_requests = 256;  // per service, held at zero replicas or at containerConcurrency
  double held_poll_interval_secs = 0.02;     // route polls while requests are held (cold starts)
  double notebook_activity_secs = 10;        // how often running notebooks' activity is read
  double notebook_idle_timeout_secs = 3600;  // an idle notebook WebSocket is closed after
  double session_hours = 12;                 // a browser login lasts this long
  // The built dashboard (index.html, assets/); "" for share/cadre/web beside the binary.
  std::string web_root;
  std::string ports_file;  // if set, the bound port is written here (JSON)
  std::string log_level = "info";
};

struct ParsedIngressCommandLine {
  std::optional<IngressConfig> config;
  int exit_code = 0;
};

// Parses and validates; prints --help or the error (naming the flag) itself.
ParsedIngressCommandLine parse_ingress_command_line(int argc, const char* const* argv);

}  // namespace cadre::ingress

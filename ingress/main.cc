// cadre-ingress: the HTTP front door to Cadre's inference services
// (docs/inference-services.md) and notebooks (docs/notebooks.md). Routes come from
// the coordinator's ingress port; requests go to ready cadre-serve replicas and
// running Jupyter servers.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ingress/api_handler.h"
#include "ingress/dashboard_assets.h"
#include "ingress/grpc_front.h"
#include "ingress/ingress_config.h"
#include "ingress/ingress_metrics.h"
#include "ingress/login_sessions.h"
#include "ingress/notebook_proxy.h"
#include "ingress/notebook_watcher.h"
#include "ingress/proxy.h"
#include "ingress/route_poller.h"
#include "ingress/route_table.h"
#include "ingress/upstream_client.h"
#include "ingress/watch_stream.h"
#include "protocol/atomic_file.h"
#include "serving/http/http_connection.h"
#include "serving/http/http_server.h"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// share/cadre/web beside bin/: the build tree's layout and an install's.
std::string default_web_root() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (exe.parent_path().parent_path() / "share" / "cadre" / "web").string();
}

int fail(const cadre::Status& status) {
  std::fprintf(stderr, "cadre-ingress: %s\n", status.message().c_str());
  return 1;
}

// {"http": P, "grpc": G (0: none), "tls": bool}
// A duration given in (fractional) seconds on the command line.
std::chrono::milliseconds seconds_of(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

cadre::Status write_ports(const std::string& path, int http, int grpc, bool tls) {
  return cadre::write_file_atomically(path, "{\"http\":" + std::to_string(http) +
                                                ",\"grpc\":" + std::to_string(grpc) +
                                                ",\"tls\":" + (tls ? "true" : "false") + "}\n");
}

// The coordinator connection every client of the ingress starts from.
cadre::client::CoordinatorClientOptions coordinator_options(
    const cadre::ingress::IngressConfig& c) {
  cadre::client::CoordinatorClientOptions o;
  o.endpoint = c.coordinator;
  o.server_key_file = c.server_key;
  o.key_file = c.key;
  o.insecure = c.insecure;
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

cadre::ingress::ApiClientOptions api_client_options(const cadre::ingress::IngressConfig& c) {
  cadre::ingress::ApiClientOptions o;
  o.coordinator = coordinator_options(c);
  // A delete waits for the object's replicas to stop (their kill grace).
  o.coordinator.timeout = std::chrono::seconds(30);
  o.threads = c.api_threads;
  o.max_queued = static_cast<size_t>(c.api_max_queued);
  return o;
}

cadre::serving::http::HttpServerOptions http_options(
    const cadre::ingress::IngressConfig& c,
    std::shared_ptr<cadre::serving::http::EventLoops> loops) {
  cadre::serving::http::HttpServerOptions o;
  o.host = c.host;
  o.port = c.http_port;
  o.loops = std::move(loops);
  o.max_connections = c.max_connections;
  o.max_body_bytes = static_cast<size_t>(c.max_request_bytes);
  o.name = "ingress";
  o.tls_cert_file = c.tls_cert;
  o.tls_key_file = c.tls_key;
  return o;
}

cadre::ingress::GrpcFrontOptions grpc_options(const cadre::ingress::IngressConfig& c) {
  cadre::ingress::GrpcFrontOptions o;
  o.host = c.host;
  o.port = c.grpc_port;
  o.tls_cert_file = c.tls_cert;
  o.tls_key_file = c.tls_key;
  o.max_message_bytes = static_cast<size_t>(c.max_request_bytes);
  o.server_version = CADRE_VERSION;
  return o;
}

// `port`: the HTTP port the server got, for the URL services are reached at.
cadre::ingress::RoutePollerOptions poller_options(const cadre::ingress::IngressConfig& c,
                                                  int port) {
  cadre::ingress::RoutePollerOptions o;
  o.coordinator = coordinator_options(c);
  o.coordinator.timeout = std::chrono::milliseconds(2000);
  const std::string scheme = c.tls_cert.empty() ? "http://" : "https://";
  o.url = c.url.empty() ? scheme + c.host + ":" + std::to_string(port) : c.url;
  o.interval = seconds_of(c.poll_interval_secs);
  o.held_interval = seconds_of(c.held_poll_interval_secs);
  return o;
}

cadre::ingress::UpstreamClientOptions upstream_options(
    const cadre::ingress::IngressConfig& c,
    std::shared_ptr<cadre::serving::http::EventLoops> loops) {
  cadre::ingress::UpstreamClientOptions o;
  o.loops = std::move(loops);
  o.max_response_bytes = static_cast<size_t>(c.max_request_bytes);
  return o;
}

cadre::ingress::NotebookProxyOptions notebook_proxy_options(
    const cadre::ingress::IngressConfig& c) {
  cadre::ingress::NotebookProxyOptions o;
  o.tunnel_idle_timeout = seconds_of(c.notebook_idle_timeout_secs);
  o.max_response_bytes = static_cast<size_t>(c.max_request_bytes);
  return o;
}

cadre::ingress::WatchStreamOptions watch_stream_options(const cadre::ingress::IngressConfig& c) {
  cadre::ingress::WatchStreamOptions o;
  o.interval = seconds_of(c.watch_interval_secs);
  o.max_streams = static_cast<size_t>(c.max_watch_streams);
  return o;
}

// Which part answers a request, by its path: the dashboard's files, the HTTP
// API, or the proxy to services' replicas; notebooks, logins and watch streams
// take their connection over. Sets the server's header check and takeovers in
// `http`; returns the request handler.
cadre::serving::http::HttpHandler route_requests(cadre::serving::http::HttpServerOptions* http,
                                                 cadre::ingress::Proxy& proxy,
                                                 cadre::ingress::ApiHandler& api,
                                                 cadre::ingress::NotebookProxy& notebooks,
                                                 cadre::ingress::WatchStreams& watches,
                                                 const cadre::ingress::DashboardAssets& web) {
  using namespace cadre;
  // Requests the proxy would refuse are answered before their bodies are read.
  http->check_headers =
      [&proxy,
       &api](const serving::http::HttpRequest& head) -> std::optional<serving::http::HttpResponse> {
    const std::string path = head.target.substr(0, head.target.find('?'));
    if (ingress::DashboardAssets::handles(path)) return std::nullopt;
    return ingress::ApiHandler::handles(path) ? api.check_headers(head) : proxy.check_headers(head);
  };
  // Notebooks and logins are read by the notebook proxy itself (every header,
  // WebSockets); watch streams write Server-Sent Events as long as they last.
  for (const char* prefix : ingress::NotebookProxy::kPrefixes)
    http->takeover_prefixes.push_back(prefix);
  http->takeover_prefixes.emplace_back(ingress::kWatchPrefix);
  http->takeover = [&notebooks,
                    &watches](std::shared_ptr<serving::http::HttpConnection> connection) {
    const std::string target(connection->parser->get().target());
    if (target.rfind(ingress::kWatchPrefix, 0) == 0) return watches.take(std::move(connection));
    notebooks.take(std::move(connection));
  };
  // Tokens are checked per service by the proxy (a service may opt out).
  return [&proxy, &api, &web](serving::http::HttpRequest r, serving::http::Responder respond) {
    const std::string path = r.target.substr(0, r.target.find('?'));
    if (ingress::DashboardAssets::handles(path)) return respond(web.serve(r));
    if (ingress::ApiHandler::handles(path)) return api.handle(std::move(r), std::move(respond));
    proxy.handle(std::move(r), std::move(respond));
  };
}

int run(const cadre::ingress::IngressConfig& c) {
  using namespace cadre;
  ingress::RouteTable table;
  ingress::IngressMetrics metrics;
  ingress::LoadMeter load;
  ingress::NotebookActivityBoard activity;
  ingress::LoginSessions sessions(
      {std::chrono::seconds(static_cast<int64_t>(c.session_hours * 3600)), 100000});
  // One set of loops for users' connections and the requests they make to
  // replicas: a request is read, sent on, answered and written back on one thread.
  auto loops =
      serving::http::EventLoops::Create(c.http_threads, std::chrono::microseconds(c.idle_poll_us));
  auto upstream = ingress::UpstreamClient::Create(upstream_options(c, loops));
  if (!upstream.ok()) return fail(upstream.status());
  auto activator = ingress::Activator::Create({static_cast<size_t>(c.max_held_requests)});
  if (!activator.ok()) return fail(activator.status());
  ingress::Proxy proxy({c.max_retries}, table, **upstream, metrics, load, **activator, &sessions);
  auto api_client = ingress::ApiClient::Create(api_client_options(c));
  if (!api_client.ok()) return fail(api_client.status());
  ingress::ApiHandler api(table, sessions, **api_client, metrics);
  ingress::NotebookProxy notebooks(notebook_proxy_options(c), table, sessions);

  ingress::DashboardAssetsOptions web;
  web.root = c.web_root.empty() ? default_web_root() : c.web_root;
  auto dashboard = ingress::DashboardAssets::Create(web);
  if (!dashboard.ok()) return fail(dashboard.status());

  ingress::WatchStreams watches(watch_stream_options(c), api);
  serving::http::HttpServerOptions http = http_options(c, loops);
  auto server = serving::http::HttpServer::Create(
      http, route_requests(&http, proxy, api, notebooks, watches, **dashboard));
  if (!server.ok()) return fail(server.status());
  const int port = (*server)->port();
  std::unique_ptr<ingress::GrpcFront> grpc;
  if (c.grpc_port >= 0) {
    auto created = ingress::GrpcFront::Create(grpc_options(c), proxy, table);
    if (!created.ok()) return fail(created.status());
    grpc = std::move(*created);
  }

  const ingress::RoutePollerOptions poll = poller_options(c, port);
  auto poller = ingress::RoutePoller::Create(poll, table, load, activity, **activator);
  if (!poller.ok()) return fail(poller.status());
  ingress::NotebookWatcherOptions watch;
  watch.interval = seconds_of(c.notebook_activity_secs);
  auto watcher = ingress::NotebookWatcher::Create(watch, table, **upstream, activity);
  if (!watcher.ok()) return fail(watcher.status());
  if (!c.ports_file.empty()) {
    const Status s = write_ports(c.ports_file, port, grpc ? grpc->port() : 0, !c.tls_cert.empty());
    if (!s.ok()) return fail(s);
  }
  spdlog::info("cadre-ingress serving {}{} (routes from {})", poll.url,
               grpc ? ", gRPC on port " + std::to_string(grpc->port()) : "", c.coordinator);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("cadre-ingress stopping");
  // No new connection or request; what is in flight is answered while the loops
  // still run: held requests by the activator (after the poller that wakes it),
  // gRPC calls through the proxy. Then the loops stop (the server's connections,
  // watch streams and requests to replicas end there), and only then the API
  // client, whose late answers post to the stopped loops, which drop them.
  (*server)->stop_accepting();
  poller->reset();
  (*activator)->stop();
  if (grpc) grpc->shutdown(std::chrono::seconds(1));
  (*server)->stop();
  api_client->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = cadre::ingress::parse_ingress_command_line(argc, argv);
  if (!parsed.config) return parsed.exit_code;
  spdlog::set_level(spdlog::level::from_str(parsed.config->log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return run(*parsed.config);
}

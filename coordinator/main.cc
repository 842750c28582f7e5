// cadre-coordinator: the head node process. Wires the ZeroMQ gateway, the ZAP
// handler and the CAF actors together, restores state from SQLite, and serves.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <csignal>
#include <sstream>
#include <thread>

#include "actors/actors.h"
#include "coordinator/coordinator_config.h"
#include "coordinator/gateway.h"
#include "coordinator/zap_handler.h"
#include "protocol/atomic_file.h"
#include "protocol/prometheus_text.h"
#include "serving/http/metrics_endpoint.h"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// SIGHUP (systemctl reload): the command line and its --config file are read again,
// as at start, and the queue quotas take effect at once; other settings wait for the
// next start. A configuration that no longer parses keeps the quotas in force. The
// signal is blocked in every thread (main blocks it before any starts) and taken
// here with sigwait, so nothing runs in a signal handler.
void reload_on_sighup(int argc, char** argv, caf::actor scheduler) {
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  for (;;) {
    int signal = 0;
    if (sigwait(&hup, &signal) != 0) return;
    bool exit_now = false;
    auto config = cadre::coordinator::parse_coordinator_config(argc, argv, &exit_now);
    if (!config.ok()) {
      spdlog::error("SIGHUP: the configuration no longer reads ({}); queue quotas unchanged",
                    config.status().message());
      continue;
    }
    cadre::actors::QueueQuotas quotas = config->policy().queue_quotas;
    std::string listed;
    for (const auto& [queue, quota] : quotas) {
      listed += (listed.empty() ? "" : "; ") + queue + " " + cadre::actors::to_string(quota) +
                (quota.cohort.empty() ? "" : " cohort " + quota.cohort);
    }
    spdlog::info("SIGHUP: queue quotas now {} (other settings take effect at the next start)",
                 listed.empty() ? "none" : listed);
    caf::anon_send(scheduler, cadre::actors::quotas_atom::value, std::move(quotas));
  }
}

// {"agents", "clients", "ingresses", "metrics": endpoints, "pid"}, for `cadre local up`.
cadre::Status write_endpoints(const std::string& path, const std::string& agents,
                              const std::string& clients, const std::string& ingresses,
                              const std::string& metrics) {
  std::ostringstream text;
  text << "{\"agents\":\"" << agents << "\",\"clients\":\"" << clients << "\",\"ingresses\":\""
       << ingresses << "\",\"metrics\":\"" << metrics << "\",\"pid\":" << ::getpid() << "}\n";
  return cadre::write_file_atomically(path, text.str());
}

// /metrics: the instruments, the edge's counters, and the gauges each actor that
// owns state renders when asked (2 s each; one that does not answer is left out
// and counted, so a stuck actor shows as scrape errors rather than a stuck scrape).
std::string render_metrics(caf::actor_system& system, const cadre::actors::ActorContext& ctx,
                           const cadre::actors::CoordinatorMetrics& metrics,
                           const cadre::coordinator::ZapHandler* zap,
                           const cadre::coordinator::Gateway& gateway) {
  using namespace cadre;
  protocol::PrometheusText out;
  metrics.render(out);
  out.family("cadre_coordinator_rejected_frames_total", "counter",
             "Frames the gateway refused: malformed, oversized, wrong port, unregistered sender.");
  out.sample("cadre_coordinator_rejected_frames_total", {},
             static_cast<double>(gateway.rejected()));
  if (zap != nullptr) {
    out.family("cadre_coordinator_refused_connections_total", "counter",
               "Connection attempts whose CURVE key no allowlist of their port holds.");
    out.sample("cadre_coordinator_refused_connections_total", {},
               static_cast<double>(zap->refused()));
  }
  std::string text = out.str();
  int unanswered = 0;
  caf::scoped_actor self{system};
  for (const caf::actor& owner : {ctx.registry, ctx.scheduler, ctx.manager}) {
    self->request(owner, std::chrono::seconds(2), actors::scrape_atom::value)
        .receive([&](const std::string& part) { text += part; },
                 [&](const caf::error&) { ++unanswered; });
  }
  protocol::PrometheusText errors;
  errors.family("cadre_coordinator_scrape_errors", "gauge",
                "Actors that did not render their part of this scrape within 2 s.");
  errors.sample("cadre_coordinator_scrape_errors", {}, unanswered);
  return text + errors.str();
}

int fail(const cadre::Status& status) {
  std::fprintf(stderr, "cadre-coordinator: %s\n", status.message().c_str());
  return status.code() == cadre::StatusCode::kInvalidArgument ? 2 : 1;
}

// The ZeroMQ edge: the ZAP handler with one allowlist folder per role (unless
// --insecure), then the gateway's sockets. `zap` must outlive the gateway.
cadre::Result<std::unique_ptr<cadre::coordinator::Gateway>> open_edge(
    const cadre::coordinator::CoordinatorConfig& config, zmq::context_t& context,
    cadre::actors::CoordinatorMetrics* metrics,
    std::unique_ptr<cadre::coordinator::ZapHandler>* zap) {
  using namespace cadre;
  namespace fs = std::filesystem;
  coordinator::GatewayOptions options;
  options.metrics = metrics;
  options.bind_address = config.bind_address;
  options.agent_port = config.agent_port;
  options.client_port = config.client_port;
  options.ingress_port = config.ingress_port;
  options.insecure = config.insecure;
  options.max_message_bytes = config.max_message_bytes;
  options.client_send_queue = config.client_send_queue;
  if (config.insecure) {
    spdlog::warn(
        "CURVE authentication is OFF (--insecure): anyone who can reach the ports "
        "can act as an agent or a client");
    return coordinator::Gateway::Create(context, options);
  }
  auto keys = protocol::read_keypair((fs::path(config.config_dir) / "server.key").string());
  if (!keys.ok()) {
    return keys.status().annotate("server key (create it with `cadre keys generate --out " +
                                  config.config_dir + "/server`)");
  }
  options.server_keys = *keys;
  coordinator::ZapOptions zap_options;
  for (const char* role : {"agents", "clients", "ingresses"}) {
    const auto dir = fs::path(config.config_dir) / "authorized" / role;
    std::error_code ec;
    fs::create_directories(dir, ec);
    zap_options.allowlist_dirs[role] = dir.string();
  }
  ASSIGN_OR_RETURN(*zap, coordinator::ZapHandler::Create(context, zap_options));
  options.keys = zap->get();
  return coordinator::Gateway::Create(context, options);
}

// Every agent and client connection is a descriptor, and so is each connection
// still in its (5 s bounded) CURVE handshake: take the whole hard limit, so that a
// flood of idle connections meets the handshake timeout before it meets EMFILE.
void raise_open_file_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    spdlog::debug("open files: soft limit raised to {}", static_cast<uint64_t>(limit.rlim_cur));
  }
}

// Every object the store holds but nodes (the registry restores those), for the
// manager to rebuild its supervisors from.
cadre::Result<cadre::actors::RestoredState> restore(cadre::actors::StateStore& store) {
  cadre::actors::RestoredState restored;
  ASSIGN_OR_RETURN(restored.jobs, store.load_jobs());
  ASSIGN_OR_RETURN(restored.experiments, store.load_experiments());
  ASSIGN_OR_RETURN(restored.services, store.load_services());
  ASSIGN_OR_RETURN(restored.tokens, store.load_tokens());
  ASSIGN_OR_RETURN(restored.pipelines, store.load_pipelines());
  ASSIGN_OR_RETURN(restored.runs, store.load_runs());
  ASSIGN_OR_RETURN(restored.recurring_runs, store.load_recurring_runs());
  ASSIGN_OR_RETURN(restored.notebooks, store.load_notebooks());
  return restored;
}

// /metrics on the bind address behind a bearer token (created beside the keys
// unless one is configured).
cadre::Result<std::unique_ptr<cadre::serving::http::MetricsEndpoint>> start_metrics(
    const cadre::coordinator::CoordinatorConfig& config, std::function<std::string()> render) {
  namespace fs = std::filesystem;
  const std::string token_file = config.metrics_token_file.empty()
                                     ? (fs::path(config.config_dir) / "metrics.token").string()
                                     : config.metrics_token_file;
  ASSIGN_OR_RETURN(const std::string token,
                   cadre::serving::http::load_or_create_metrics_token(token_file));
  auto endpoint = cadre::serving::http::MetricsEndpoint::Create(
      {config.bind_address, config.metrics_port, token}, std::move(render));
  if (!endpoint.ok()) return endpoint.status().annotate("metrics port");
  return endpoint;
}

int run(const cadre::coordinator::CoordinatorConfig& config, int argc, char** argv) {
  using namespace cadre;
  namespace fs = std::filesystem;
  raise_open_file_limit();
  auto store = actors::StateStore::Open((fs::path(config.state_dir) / "cadre.db").string(),
                                        {config.metric_points_per_series});
  if (!store.ok()) return fail(store.status());
  auto restored = restore(**store);
  if (!restored.ok()) return fail(restored.status());
  auto nodes = (*store)->load_nodes();
  if (!nodes.ok()) return fail(nodes.status());
  auto file_removals = (*store)->load_file_removals();
  if (!file_removals.ok()) return fail(file_removals.status());
  auto cordoned = (*store)->load_cordoned_nodes();
  if (!cordoned.ok()) return fail(cordoned.status());
  const size_t job_count = restored->jobs.size(), experiment_count = restored->experiments.size(),
               service_count = restored->services.size(), run_count = restored->runs.size();

  zmq::context_t context;
  auto metrics = std::make_shared<actors::CoordinatorMetrics>();
  std::unique_ptr<coordinator::ZapHandler> zap;
  auto gateway = open_edge(config, context, metrics.get(), &zap);
  if (!gateway.ok()) return fail(gateway.status());
  auto& g = **gateway;

  caf::actor_system_config caf_config;
  // One shared queue whose idle workers block on a condition variable. CAF's default
  // (work stealing) has idle workers poll with short sleeps: 10% of a core on an
  // idle head node, where the coordinator shares its cores with the agents' replicas.
  caf_config.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system system{caf_config};
  actors::ActorContext ctx;
  ctx.outbox = g.outbox();
  ctx.policy = config.policy();
  ctx.policy.client_endpoint = g.client_endpoint();
  if (zap) {
    auto server = protocol::read_keypair((fs::path(config.config_dir) / "server.key").string());
    if (!server.ok()) return fail(server.status());
    ctx.policy.server_public_key = server->public_key;
    // The ZAP handler lives until the process ends (it exits without unwinding).
    ctx.client_keys = std::shared_ptr<actors::ClientKeys>(zap.get(), [](actors::ClientKeys*) {});
  }
  ctx.metrics = metrics;
  ctx.store =
      actors::spawn_store(system, std::shared_ptr<actors::StateStore>(std::move(*store)), metrics);
  ctx.scheduler = actors::spawn_scheduler(system, metrics, ctx.policy.queue_quotas);
  std::thread(reload_on_sighup, argc, argv, ctx.scheduler).detach();
  ctx.registry = actors::spawn_registry(system, ctx, std::move(*nodes), std::move(*file_removals),
                                        std::move(*cordoned));
  ctx.manager = actors::spawn_manager(system, ctx, std::move(*restored));
  caf::anon_send(ctx.registry, actors::put_atom::value, ctx.manager);

  std::unique_ptr<serving::http::MetricsEndpoint> metrics_endpoint;
  std::string metrics_url;
  if (config.metrics_port >= 0) {
    auto endpoint = start_metrics(config, [&system, ctx, metrics, zap = zap.get(), gateway = &g] {
      return render_metrics(system, ctx, *metrics, zap, *gateway);
    });
    if (!endpoint.ok()) return fail(endpoint.status());
    metrics_endpoint = std::move(*endpoint);
    metrics_url = "http://" + config.bind_address + ":" + std::to_string(metrics_endpoint->port());
  }
  if (!config.endpoints_file.empty()) {
    Status s = write_endpoints(config.endpoints_file, g.agent_endpoint(), g.client_endpoint(),
                               g.ingress_endpoint(), metrics_url);
    if (!s.ok()) return fail(s);
  }

  spdlog::info(
      "cadre-coordinator serving: agents {} clients {} ingresses {} metrics {} state {} ({} jobs, "
      "{} experiments, {} inference services, {} pipeline runs restored)",
      g.agent_endpoint(), g.client_endpoint(), g.ingress_endpoint(),
      metrics_url.empty() ? "off" : metrics_url + "/metrics", config.state_dir, job_count,
      experiment_count, service_count, run_count);
  auto inbound = actors::make_actor_inbound(ctx);
  g.run(*inbound, g_stop);
  spdlog::info("cadre-coordinator stopping");
  spdlog::shutdown();
  // Every acknowledged change is already durable (synchronous=FULL), so there is
  // nothing to flush; skip waiting for actors that never terminate on their own.
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  bool exit_now = false;
  auto config = cadre::coordinator::parse_coordinator_config(argc, argv, &exit_now);
  if (!config.ok()) return fail(config.status());
  if (exit_now) return 0;
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Taken by reload_on_sighup's sigwait; blocked before any thread starts, so that
  // every thread inherits the mask and none is interrupted by it.
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  return run(*config, argc, argv);
}

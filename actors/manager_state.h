// The manager actor's state and the functions its two files share: manager_actor.cc
// (manifests, jobs, nodes, logs, agent reports) and manager_experiments.cc
// (experiments and the trial jobs they ask for). Only those two include this.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <spdlog/spdlog.h>

#include "actors/actors.h"

namespace cadre::actors {

struct PendingLogRead {
  ClientRef client;
  ReplicaLocation location;
};

// A stored pipeline: its versions and their parsed specs (runs keep a pointer).
struct PipelineEntry {
  std::vector<protocol::PipelineVersion> versions;                     // oldest first
  std::map<int32_t, std::shared_ptr<const spec::PipelineSpec>> specs;  // by version
};

struct ManagerState {
  ActorContext ctx;
  std::map<std::string, caf::actor> jobs;              // by name
  std::map<std::string, protocol::JobStatus> summary;  // by name; pushed by job actors
  std::set<std::string> creating;                      // names being written to the store right now
  std::map<std::string, caf::actor> experiments;       // by name
  std::map<std::string, protocol::ExperimentStatus> experiment_summary;  // pushed by them
  std::set<std::string> creating_experiments;  // being written to the store right now
  // Experiments a pipeline step made, and the run that made each (its to delete).
  std::map<std::string, std::string> experiment_runs;
  std::map<std::string, caf::actor> services;  // InferenceService supervisors, by name
  std::map<std::string, protocol::InferenceServiceStatus> service_summary;  // pushed by them
  std::map<std::string, protocol::ServiceRoute> service_routes;             // pushed by them
  std::set<std::string> creating_services;  // being written to the store right now
  // Bumped whenever a route or token changes. It starts from the wall clock, so it
  // never goes back across coordinator restarts (an ingress compares versions).
  uint64_t routes_version = 0;
  // A service is "synced" once an ingress has a table in which it can be served
  // (the version its route first had a ready replica for every share); its
  // IngressReady condition says so. By service name.
  std::map<std::string, uint64_t> serving_since;
  std::set<std::string> synced;
  std::string ingress_url;  // how users reach the ingress (its last poll)
  std::chrono::steady_clock::time_point ingress_polled{};  // when an ingress last polled
  bool ingress_connected = false;
  std::map<std::string, TokenRecord> tokens;                  // user tokens, by id
  std::map<std::string, protocol::IngressToken> login_codes;  // open ones, by SHA-256
  std::map<std::string, PipelineEntry> pipelines;             // by name
  std::set<std::string> creating_pipelines;                   // a version is being stored
  std::map<std::string, caf::actor> runs;                     // pipeline run supervisors, by name
  std::map<std::string, protocol::PipelineRunStatus> run_summary;  // pushed by them
  std::set<std::string> creating_runs;               // being written to the store right now
  std::map<std::string, caf::actor> recurring_runs;  // RecurringRun supervisors, by name
  std::map<std::string, protocol::RecurringRunStatus> recurring_summary;  // pushed by them
  std::set<std::string> creating_recurring_runs;
  std::map<std::string, caf::actor> notebooks;  // Notebook supervisors, by name
  std::map<std::string, protocol::NotebookStatus> notebook_summary;  // pushed by them
  std::map<std::string, protocol::NotebookRoute> notebook_routes;    // pushed by them
  // Each notebook's own client key and ingress token (derived from its token), by name.
  struct NotebookKeys {
    std::string ns;
    NotebookCredentials credentials;
  };
  std::map<std::string, NotebookKeys> notebook_keys;
  std::set<std::string> creating_notebooks;  // being written to the store right now
  // Every pipeline's succeeded step executions, by pipeline then fingerprint: what
  // a new run may reuse. Rebuilt from the stored runs after a restart; a deleted
  // run's entries go with it.
  std::map<std::string, std::map<std::string, pipelines::CachedExecution>> execution_cache;
  caf::actor parser;  // parses manifests off the manager's path (see parser())
  std::map<uint64_t, PendingLogRead> log_reads;  // by ReadLogs header id
  uint64_t next_log_read = 1;
};

using ManagerSelf = caf::stateful_actor<ManagerState>;

namespace manager {

// What a created job is for: the client that applied it, or the experiment whose
// trial it runs (owner "experiment/<name>", and the trial's checkpoint folder), or
// the pipeline run whose step it is (owner "run/<name>", the step's folder).
struct JobOrigin {
  std::string owner;
  std::string checkpoint_name;
  protocol::MetricsCollection metrics;
  // An inference service's replica: the service's token (its replicas all ask the
  // same one of the ingress) and the path its agent probes for readiness.
  std::string token;
  std::string readiness_path;
  std::string pinned_node;  // a Notebook's job: the node holding its workspace
  // Called once: Ok with "created" / "unchanged", or why not.
  std::function<void(const Status&, const std::string& action)> done;
};

// Stores the job, then spawns its supervisor; the same manifest again is a no-op.
void create_job(ManagerSelf* self, const std::shared_ptr<const spec::Manifest>& manifest,
                const std::string& text, JobOrigin origin);

// The error continuation of a request made for a client: the client hears at once
// that `asked` did not answer, and why, instead of waiting out its own timeout.
inline auto answer_error(ManagerSelf* self, const ClientRef& client, const std::string& asked) {
  return [=](const caf::error& error) {
    spdlog::warn("manager: {} did not answer: {}", asked, caf::to_string(error));
    self->state.ctx.outbox->client_error(
        client, Unavailable(asked + " did not answer: " + caf::to_string(error)));
  };
}

// ---- manager_scope.cc ----
// Whether a namespace-scoped client (ClientRef::ns) may act on the object; when it
// may not, the client is answered (NotFound, or PermissionDenied for cluster-wide
// objects) and false returned.
bool in_scope(ManagerSelf* self, const ClientRef& client, const std::string& resource,
              const std::string& name);
// Whether it may make something in namespace `ns` (`what`: "the manifest", "the token").
bool in_scope_namespace(ManagerSelf* self, const ClientRef& client, const std::string& ns,
                        const std::string& what);

// ---- manager_notebooks.cc ----
void apply_notebook(ManagerSelf* self, const ClientRef& client,
                    const protocol::ApplyRequest& request,
                    const std::shared_ptr<const spec::Manifest>& manifest);
void get_notebooks(ManagerSelf* self, const ClientRef& client, const std::string& name);
// `purge`: its workspace folder goes too (docs/notebooks.md).
void delete_notebook(ManagerSelf* self, const ClientRef& client, const std::string& name,
                     bool purge);
void restore_notebooks(ManagerSelf* self, std::vector<NotebookRecord> restored);
// The notebook supervisors' requests: a server's job to create; their summaries.
caf::message_handler notebook_requests(ManagerSelf* self);
// A server job's news for the notebook that owns it, if any.
void forward_notebook_status(ManagerSelf* self, const protocol::JobStatus& job);
void forward_notebook_gone(ManagerSelf* self, const std::string& job, const std::string& owner);
// The ingress's side: where notebooks are, and what it read from their servers.
void add_notebook_routes(ManagerSelf* self, protocol::RoutesReply& reply);
void forward_notebook_activity(ManagerSelf* self,
                               const std::vector<protocol::NotebookActivity>& seen);

// ---- manager_cluster.cc ----
void get_nodes(ManagerSelf* self, const ClientRef& client, const std::string& name);
void get_queues(ManagerSelf* self, const ClientRef& client, const std::string& name);
void remove_node(ManagerSelf* self, const ClientRef& client, const std::string& name);

// ---- manager_experiments.cc ----
void create_experiment(ManagerSelf* self, const ClientRef& client,
                       const protocol::ApplyRequest& request,
                       const std::shared_ptr<const spec::Manifest>& manifest);
void get_experiments(ManagerSelf* self, const ClientRef& client, const std::string& name);
void delete_experiment(ManagerSelf* self, const ClientRef& client, const std::string& name);
void restore_experiments(ManagerSelf* self, std::vector<ExperimentRecord> restored);
// The experiment supervisors' requests: a trial's job to create, stop or delete.
caf::message_handler experiment_requests(ManagerSelf* self);
// A trial job's news for the experiment that owns it, if any.
void forward_status(ManagerSelf* self, const protocol::JobStatus& job);
void forward_metrics(ManagerSelf* self, const std::string& job,
                     const std::vector<protocol::MetricSample>& samples);
void forward_gone(ManagerSelf* self, const std::string& job, const std::string& owner);

// ---- manager_services.cc ----
// The manager's side of inference services (the same shape as experiments').
void apply_service(ManagerSelf* self, const ClientRef& client,
                   const protocol::ApplyRequest& request,
                   const std::shared_ptr<const spec::Manifest>& manifest);
void get_services(ManagerSelf* self, const ClientRef& client, const std::string& name);
void delete_service(ManagerSelf* self, const ClientRef& client, const std::string& name);
void restore_services(ManagerSelf* self, std::vector<ServiceRecord> restored);
// The service supervisors' requests, the ingresses' route polls, and the check
// that notices when no ingress polls any more.
caf::message_handler service_requests(ManagerSelf* self);
// A replica job's news for the service that owns it, if any.
void forward_service_status(ManagerSelf* self, const protocol::JobStatus& job);
void forward_service_gone(ManagerSelf* self, const std::string& job, const std::string& owner);
// A drained node's replica of an InferenceService goes to its service, which replaces
// it before stopping it; false: `job` is no service's replica.
bool forward_service_evict(ManagerSelf* self, const protocol::JobStatus& job);

// ---- manager_pipelines.cc ----
// Pipelines (versioned specs) and their runs (one supervisor each).
void apply_pipeline(ManagerSelf* self, const ClientRef& client,
                    const protocol::ApplyRequest& request,
                    const std::shared_ptr<const spec::Manifest>& manifest);
void apply_run(ManagerSelf* self, const ClientRef& client, const protocol::ApplyRequest& request,
               const std::shared_ptr<const spec::Manifest>& manifest);
// Who started a run, when it was not a client: a recurring run, for a due time.
struct RunOrigin {
  std::string recurring_run;
  int64_t scheduled_ms = 0;
};
// Creates a run (answered Ok with "created" or "unchanged", or why not).
void apply_run_then(ManagerSelf* self, const std::shared_ptr<const spec::Manifest>& manifest,
                    const std::string& text, RunOrigin origin,
                    std::function<void(const Status&, const std::string&)> done);
void get_pipelines(ManagerSelf* self, const ClientRef& client, const std::string& name);
void get_runs(ManagerSelf* self, const ClientRef& client, const std::string& name);
void delete_pipeline(ManagerSelf* self, const ClientRef& client, const std::string& name);
void delete_run(ManagerSelf* self, const ClientRef& client, const std::string& name);
void retry_run(ManagerSelf* self, const ClientRef& client, const protocol::RetryRequest& request);
// After the jobs: each run adopts its step jobs as they are now.
void restore_pipelines(ManagerSelf* self, std::vector<PipelineRecord> pipelines,
                       std::vector<protocol::PipelineRunStatus> runs);
caf::message_handler pipeline_requests(ManagerSelf* self);
// ---- manager_recurring_runs.cc ----
// RecurringRuns: schedules that start runs (one supervisor each).
void apply_recurring_run(ManagerSelf* self, const ClientRef& client,
                         const protocol::ApplyRequest& request,
                         const std::shared_ptr<const spec::Manifest>& manifest);
void get_recurring_runs(ManagerSelf* self, const ClientRef& client, const std::string& name);
void delete_recurring_run(ManagerSelf* self, const ClientRef& client, const std::string& name);
void restore_recurring_runs(ManagerSelf* self, std::vector<protocol::RecurringRunStatus> records);
caf::message_handler recurring_run_requests(ManagerSelf* self);
// A step job's news for the run that owns it, if any.
void forward_run_status(ManagerSelf* self, const protocol::JobStatus& job);
void forward_run_gone(ManagerSelf* self, const std::string& job, const std::string& owner);

// ---- manager_tokens.cc ----
void restore_tokens(ManagerSelf* self, std::vector<TokenRecord> restored);
void create_token(ManagerSelf* self, const ClientRef& client,
                  const protocol::TokenCreateRequest& request);
void get_tokens(ManagerSelf* self, const ClientRef& client);
void delete_token(ManagerSelf* self, const ClientRef& client, const std::string& id);
std::vector<protocol::IngressToken> ingress_tokens(ManagerSelf* self);       // for the routes
std::vector<protocol::IngressToken> ingress_login_codes(ManagerSelf* self);  // open ones
// Login codes an ingress has used: they are open no more, at any ingress.
void redeem_login_codes(ManagerSelf* self, const std::vector<std::string>& redeemed);

// ---- manager_actor.cc ----
// "job/NAME" or "trainjob/NAME" (resource "jobs" or "trainjobs").
std::string job_ref(const std::string& resource, const std::string& name);
// The supervisor of `name` if it is of the kind `resource` lists; else answers
// the client NotFound (saying which kind it is, when it is the other one).
std::optional<caf::actor> find_job(ManagerSelf* self, const ClientRef& client,
                                   const std::string& resource, const std::string& name);

// ---- manager_suspend.cc ----
// cadre suspend / resume of a user's own Job or TrainJob (not one a workload owns).
void suspend_job(ManagerSelf* self, const ClientRef& client,
                 const protocol::SuspendRequest& request);
// A user's job applied again with a different manifest (`before` is the stored one):
// if only its suspend field changed, `job` is suspended or resumed ("configured",
// or "unchanged") and keeps `after`; any other change is refused as immutable.
void apply_suspend(ManagerSelf* self, const caf::actor& job, const protocol::JobStatus& before,
                   const std::string& after, bool suspend, JobOrigin origin);
// Why a job applied again with another spec is refused.
Status immutable(const protocol::JobStatus& job);

// ---- manager_logs.cc ----
// A replica's log, read from its agent (rank 0's unless the request names one).
void logs(ManagerSelf* self, const ClientRef& client, const protocol::LogsRequest& request);
// The agent's answer to the read with header id `id`.
void logs_chunk(ManagerSelf* self, uint64_t id, const protocol::LogsChunk& chunk);
// The agent did not answer read `id` within log-read-timeout.
void log_read_timed_out(ManagerSelf* self, uint64_t id);
// A job's stored metric points; the job must exist (a deleted job's are gone).
void metrics_history(ManagerSelf* self, const ClientRef& client,
                     const protocol::MetricsHistoryRequest& request);

// ---- manager_metrics.cc ----
// Its gauges for /metrics (Prometheus text): jobs, experiments, runs and notebooks
// by phase, services' readiness and replicas per revision.
std::string scrape_manager(const ManagerState& st);

}  // namespace manager
}  // namespace cadre::actors

// Durable coordinator state in SQLite (WAL, synchronous=FULL): jobs, their events
// and metric samples, and the registration epoch counter. Owned by the store actor;
// not thread-safe by design (one owner, one connection).
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::actors {

// What survives a coordinator restart for one job.
struct JobRecord {
  // Phase, conditions, times, manifest, and every replica with its node, epoch,
  // GPUs, port and restart count: all a restarted coordinator needs to adopt them.
  protocol::JobStatus status;
  int32_t attempts = 0;  // replica instances launched so far: the next uid suffix
  std::string token;     // CADRE_JOB_TOKEN shared by the job's replicas (MPI remote exec)
};

// How much metric history one series (job, replica instance, name) keeps: once it
// holds more than `points_per_series` points, the older half is thinned to every
// second point, so the newest points_per_series / 2 stay exact and the history
// before them gets sparser the older it is (a job printing a million lines costs
// at most this many rows per name).
struct MetricRetention {
  int points_per_series = 2000;
};

// An experiment as loaded after a restart.
struct ExperimentRecord {
  protocol::ExperimentStatus status;  // trials and all
  // Metric samples stored for each running trial's current job, by job name: what
  // the trial reported before the restart.
  std::map<std::string, std::vector<protocol::MetricSample>> samples;
};

// The events table holds an experiment's events under this key, which no job
// name can be (a DNS label has no '/').
inline std::string experiment_events_key(const std::string& name) { return "experiment/" + name; }

// An InferenceService: its status (revisions, replicas, traffic) and the bearer
// token its replicas ask (never shown to users; the ingress gets it with the routes).
struct ServiceRecord {
  protocol::InferenceServiceStatus status;
  std::string token;
};

// The events table holds a service's events under this key.
inline std::string service_events_key(const std::string& name) {
  return "inferenceservice/" + name;
}

// A Notebook: its status and the token its Jupyter server asks (the job token of
// every server it starts; never shown to users, the ingress gets it with the routes).
struct NotebookRecord {
  protocol::NotebookStatus status;
  std::string token;
};

// The events table holds a notebook's events under this key.
inline std::string notebook_events_key(const std::string& name) { return "notebook/" + name; }

// A stored Pipeline: every version, oldest first, each with its applied YAML.
struct PipelineRecord {
  std::string name;
  std::vector<protocol::PipelineVersion> versions;
};

// The events table holds a pipeline run's events under this key.
inline std::string run_events_key(const std::string& name) { return "run/" + name; }
inline std::string recurring_run_events_key(const std::string& name) {
  return "recurringrun/" + name;
}

// A user token: what anyone may see, and the SHA-256 ingresses check tokens against.
struct TokenRecord {
  protocol::TokenInfo info;
  std::string sha256;
};

// A deleted job's RemoveReplicaFiles that some nodes have not answered yet: kept
// so a node that was away gets it when it registers, even after a restart.
struct FileRemovalRecord {
  protocol::RemoveReplicaFiles files;
  std::vector<std::string> unsure;  // the nodes that have not answered it
};

class StateStore {
 public:
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path,
                                                  MetricRetention retention = {});
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  Status put_job(const JobRecord& record);     // insert or replace
  Status delete_job(const std::string& name);  // with its events and metrics
  Result<std::vector<JobRecord>> load_jobs();  // metrics filled with the latest values

  Status append_event(const std::string& job, const protocol::JobEvent& event);
  Result<std::vector<protocol::JobEvent>> events(const std::string& job, int limit);
  // Appends, then thins each touched series past its retention.
  Status append_metrics(const std::string& job, const std::string& uid,
                        const std::vector<protocol::MetricSample>& samples);
  // Points stored for one series (tests, diagnostics).
  Result<int64_t> metric_points(const std::string& job, const std::string& uid,
                                const std::string& name);

  // Experiments: one row each, the whole status (trials included) as one blob.
  Status put_experiment(const protocol::ExperimentStatus& experiment);  // insert or replace
  Status delete_experiment(const std::string& name);                    // with its events
  Result<std::vector<ExperimentRecord>> load_experiments();

  // Inference services: one row each, the status as one blob.
  Status put_service(const ServiceRecord& service);  // insert or replace
  Status delete_service(const std::string& name);    // with its events
  Result<std::vector<ServiceRecord>> load_services();

  // Pipelines: one row per version; runs: one row each, the status as one blob.
  Status put_pipeline_version(const std::string& name, const protocol::PipelineVersion& version);
  Status delete_pipeline(const std::string& name);  // every version
  Result<std::vector<PipelineRecord>> load_pipelines();
  Status put_run(const protocol::PipelineRunStatus& run);  // insert or replace
  Status delete_run(const std::string& name);              // with its events
  Result<std::vector<protocol::PipelineRunStatus>> load_runs();
  // Recurring runs: one row each, the status as one blob.
  Status put_recurring_run(const protocol::RecurringRunStatus& recurring);  // insert or replace
  Status delete_recurring_run(const std::string& name);                     // with its events
  Result<std::vector<protocol::RecurringRunStatus>> load_recurring_runs();

  // Notebooks: one row each, the status as one blob.
  Status put_notebook(const NotebookRecord& notebook);  // insert or replace
  Status delete_notebook(const std::string& name);      // with its events
  Result<std::vector<NotebookRecord>> load_notebooks();

  // Nodes as they last registered (without their replica reports): a restarted
  // coordinator knows its cluster before every agent is back.
  // put_node keeps a stored cordon; put_node_cordoned stores the registration too,
  // since a cordon may come before the registration's own write.
  Status put_node(const protocol::RegisterRequest& node);  // insert or replace
  Status put_node_cordoned(const protocol::RegisterRequest& node, bool cordoned);
  Status delete_node(const std::string& name);
  Result<std::vector<protocol::RegisterRequest>> load_nodes();
  Result<std::vector<std::string>> load_cordoned_nodes();  // by name

  // Replica-file removals awaiting nodes' answers, by uid prefix, oldest first.
  Status put_file_removal(const FileRemovalRecord& removal);  // insert or replace
  Status delete_file_removal(const std::string& uid_prefix);
  Result<std::vector<FileRemovalRecord>> load_file_removals();

  Status put_token(const TokenRecord& token);
  Status delete_token(const std::string& id);
  Result<std::vector<TokenRecord>> load_tokens();

  // Every stored sample of `job` in the order reported (every replica instance). A
  // NaN reads back as NaN.
  Result<std::vector<protocol::MetricSample>> metric_history(const std::string& job);
  // The newest `max_points` points of `job` (only `metric` when not empty), oldest
  // first, with the replica instance that reported each.
  Result<protocol::MetricsHistoryReply> recent_metrics(const std::string& job,
                                                       const std::string& metric,
                                                       int64_t max_points);

  // Strictly increasing across restarts: the fencing epoch for a registration.
  Result<uint64_t> next_epoch();

  // Group commit: writes between begin() and commit() share one transaction and
  // so one fsync. Outside a transaction every write commits on its own.
  Status begin();
  Status commit();
  void rollback();

 private:
  StateStore(sqlite3* db, MetricRetention retention) : db_(db), retention_(retention) {}
  Status exec(const char* sql);
  Status thin_series(const std::string& job, const std::string& uid, const std::string& name);
  sqlite3* db_;
  MetricRetention retention_;
};

}  // namespace cadre::actors

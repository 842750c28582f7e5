// The state store's one-row-per-object tables: experiments, inference services,
// notebooks, pipelines and their runs, recurring runs, nodes and tokens (state_store.h).
#include <sqlite3.h>

#include <sstream>

#include "actors/sqlite_statement.h"
#include "actors/state_store.h"
#include "protocol/codec.h"

namespace cadre::actors {

using sqlite::Statement;

Status StateStore::put_experiment(const protocol::ExperimentStatus& e) {
  Statement s(db_, "INSERT OR REPLACE INTO experiments (name, created_ms, detail) VALUES (?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  protocol::ExperimentStatus detail = e;
  detail.events.clear();
  return s.bind(1, e.name)
      .bind(2, e.created_ms)
      .bind_blob(3, protocol::encode(detail))
      .run()
      .annotate("storing experiment " + e.name);
}

Status StateStore::delete_experiment(const std::string& name) {
  Statement s(db_, "DELETE FROM experiments WHERE name = ?");
  RETURN_IF_ERROR(s.prepared());
  RETURN_IF_ERROR(s.bind(1, name).run().annotate("deleting experiment " + name));
  Statement e(db_, "DELETE FROM events WHERE job = ?");
  RETURN_IF_ERROR(e.prepared());
  return e.bind(1, experiment_events_key(name)).run().annotate("deleting experiment " + name);
}

Result<std::vector<ExperimentRecord>> StateStore::load_experiments() {
  std::vector<ExperimentRecord> out;
  Statement s(db_, "SELECT name, detail FROM experiments ORDER BY created_ms, name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  const protocol::DecodeLimits limits;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string name = s.text(0);
    auto e = protocol::decode<protocol::ExperimentStatus>(s.blob(1), limits);
    if (!e.ok()) {
      return Internal("experiment " + name +
                      " has an unreadable stored status: " + e.status().message());
    }
    out.push_back(ExperimentRecord{std::move(*e), {}});
  }
  if (rc != SQLITE_DONE)
    return Internal(std::string("loading experiments: ") + sqlite3_errmsg(db_));
  for (auto& record : out) {
    for (const auto& trial : record.status.trials) {
      if (trial.phase != protocol::TrialPhase::kRunning || trial.jobs.empty()) continue;
      ASSIGN_OR_RETURN(record.samples[trial.jobs.back()], metric_history(trial.jobs.back()));
    }
  }
  return out;
}

Status StateStore::put_service(const ServiceRecord& service) {
  const auto& st = service.status;
  Statement s(db_,
              "INSERT OR REPLACE INTO services (name, created_ms, detail, token) VALUES (?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  protocol::InferenceServiceStatus detail = st;
  detail.events.clear();
  return s.bind(1, st.name)
      .bind(2, st.created_ms)
      .bind_blob(3, protocol::encode(detail))
      .bind(4, service.token)
      .run()
      .annotate("storing inferenceservice " + st.name);
}

Status StateStore::delete_service(const std::string& name) {
  Statement s(db_, "DELETE FROM services WHERE name = ?");
  RETURN_IF_ERROR(s.prepared());
  RETURN_IF_ERROR(s.bind(1, name).run().annotate("deleting inferenceservice " + name));
  Statement e(db_, "DELETE FROM events WHERE job = ?");
  RETURN_IF_ERROR(e.prepared());
  return e.bind(1, service_events_key(name)).run().annotate("deleting inferenceservice " + name);
}

Result<std::vector<ServiceRecord>> StateStore::load_services() {
  std::vector<ServiceRecord> out;
  Statement s(db_, "SELECT name, detail, token FROM services ORDER BY created_ms, name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  const protocol::DecodeLimits limits;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string name = s.text(0);
    auto st = protocol::decode<protocol::InferenceServiceStatus>(s.blob(1), limits);
    if (!st.ok()) {
      return Internal("inferenceservice " + name +
                      " has an unreadable stored status: " + st.status().message());
    }
    out.push_back(ServiceRecord{std::move(*st), s.text(2)});
  }
  if (rc != SQLITE_DONE) return Internal(std::string("loading services: ") + sqlite3_errmsg(db_));
  return out;
}

Status StateStore::put_notebook(const NotebookRecord& notebook) {
  const auto& st = notebook.status;
  Statement s(
      db_, "INSERT OR REPLACE INTO notebooks (name, created_ms, detail, token) VALUES (?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  protocol::NotebookStatus detail = st;
  detail.events.clear();
  return s.bind(1, st.name)
      .bind(2, st.created_ms)
      .bind_blob(3, protocol::encode(detail))
      .bind(4, notebook.token)
      .run()
      .annotate("storing notebook " + st.name);
}

Status StateStore::delete_notebook(const std::string& name) {
  Statement s(db_, "DELETE FROM notebooks WHERE name = ?");
  RETURN_IF_ERROR(s.prepared());
  RETURN_IF_ERROR(s.bind(1, name).run().annotate("deleting notebook " + name));
  Statement e(db_, "DELETE FROM events WHERE job = ?");
  RETURN_IF_ERROR(e.prepared());
  return e.bind(1, notebook_events_key(name)).run().annotate("deleting notebook " + name);
}

Result<std::vector<NotebookRecord>> StateStore::load_notebooks() {
  std::vector<NotebookRecord> out;
  Statement s(db_, "SELECT name, detail, token FROM notebooks ORDER BY created_ms, name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  const protocol::DecodeLimits limits;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string name = s.text(0);
    auto st = protocol::decode<protocol::NotebookStatus>(s.blob(1), limits);
    if (!st.ok()) {
      return Internal("notebook " + name +
                      " has an unreadable stored status: " + st.status().message());
    }
    out.push_back(NotebookRecord{std::move(*st), s.text(2)});
  }
  if (rc != SQLITE_DONE) return Internal(std::string("loading notebooks: ") + sqlite3_errmsg(db_));
  return out;
}

Status StateStore::put_pipeline_version(const std::string& name,
                                        const protocol::PipelineVersion& v) {
  Statement s(db_, "INSERT INTO pipelines (name, version, created_ms, manifest) VALUES (?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, name)
      .bind(2, static_cast<int64_t>(v.version))
      .bind(3, v.created_ms)
      .bind(4, v.manifest)
      .run()
      .annotate("storing pipeline " + name + " version " + std::to_string(v.version));
}

Status StateStore::delete_pipeline(const std::string& name) {
  Statement s(db_, "DELETE FROM pipelines WHERE name = ?");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, name).run().annotate("deleting pipeline " + name);
}

Result<std::vector<PipelineRecord>> StateStore::load_pipelines() {
  std::vector<PipelineRecord> out;
  Statement s(db_,
              "SELECT name, version, created_ms, manifest FROM pipelines ORDER BY name, version");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string name = s.text(0);
    if (out.empty() || out.back().name != name) out.push_back(PipelineRecord{name, {}});
    protocol::PipelineVersion v;
    v.version = static_cast<int32_t>(s.integer(1));
    v.created_ms = s.integer(2);
    v.manifest = s.text(3);
    out.back().versions.push_back(std::move(v));
  }
  if (rc != SQLITE_DONE) return Internal(std::string("loading pipelines: ") + sqlite3_errmsg(db_));
  return out;
}

Status StateStore::put_run(const protocol::PipelineRunStatus& run) {
  Statement s(db_, "INSERT OR REPLACE INTO runs (name, created_ms, detail) VALUES (?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  protocol::PipelineRunStatus detail = run;
  detail.events.clear();
  return s.bind(1, run.name)
      .bind(2, run.created_ms)
      .bind_blob(3, protocol::encode(detail))
      .run()
      .annotate("storing run " + run.name);
}

Status StateStore::delete_run(const std::string& name) {
  Statement s(db_, "DELETE FROM runs WHERE name = ?");
  RETURN_IF_ERROR(s.prepared());
  RETURN_IF_ERROR(s.bind(1, name).run().annotate("deleting run " + name));
  Statement e(db_, "DELETE FROM events WHERE job = ?");
  RETURN_IF_ERROR(e.prepared());
  return e.bind(1, run_events_key(name)).run().annotate("deleting run " + name);
}

Result<std::vector<protocol::PipelineRunStatus>> StateStore::load_runs() {
  std::vector<protocol::PipelineRunStatus> out;
  Statement s(db_, "SELECT name, detail FROM runs ORDER BY created_ms, name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  const protocol::DecodeLimits limits;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string name = s.text(0);
    auto run = protocol::decode<protocol::PipelineRunStatus>(s.blob(1), limits);
    if (!run.ok()) {
      return Internal("run " + name +
                      " has an unreadable stored status: " + run.status().message());
    }
    out.push_back(std::move(*run));
  }
  if (rc != SQLITE_DONE) return Internal(std::string("loading runs: ") + sqlite3_errmsg(db_));
  return out;
}

Status StateStore::put_recurring_run(const protocol::RecurringRunStatus& recurring) {
  Statement s(db_,
              "INSERT OR REPLACE INTO recurring_runs (name, created_ms, detail) VALUES (?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  protocol::RecurringRunStatus detail = recurring;
  detail.events.clear();
  return s.bind(1, recurring.name)
      .bind(2, recurring.created_ms)
      .bind_blob(3, protocol::encode(detail))
      .run()
      .annotate("storing recurring run " + recurring.name);
}

Status StateStore::delete_recurring_run(const std::string& name) {
  Statement s(db_, "DELETE FROM recurring_runs WHERE name = ?");
  RETURN_IF_ERROR(s.prepared());
  RETURN_IF_ERROR(s.bind(1, name).run().annotate("deleting recurring run " + name));
  Statement e(db_, "DELETE FROM events WHERE job = ?");
  RETURN_IF_ERROR(e.prepared());
  return e.bind(1, recurring_run_events_key(name)).run().annotate("deleting recurring run " + name);
}

Result<std::vector<protocol::RecurringRunStatus>> StateStore::load_recurring_runs() {
  std::vector<protocol::RecurringRunStatus> out;
  Statement s(db_, "SELECT name, detail FROM recurring_runs ORDER BY created_ms, name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  const protocol::DecodeLimits limits;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string name = s.text(0);
    auto recurring = protocol::decode<protocol::RecurringRunStatus>(s.blob(1), limits);
    if (!recurring.ok()) {
      return Internal("recurring run " + name +
                      " has an unreadable stored status: " + recurring.status().message());
    }
    out.push_back(std::move(*recurring));
  }
  if (rc != SQLITE_DONE) {
    return Internal(std::string("loading recurring runs: ") + sqlite3_errmsg(db_));
  }
  return out;
}

// `unsure` is stored one node name per line: names are DNS labels.
Status StateStore::put_file_removal(const FileRemovalRecord& removal) {
  std::string unsure;
  for (const auto& node : removal.unsure) unsure += node + "\n";
  // An update keeps the row's place in line (`created`), so the oldest go first.
  Statement s(db_,
              "INSERT INTO file_removals (uid_prefix, created, detail, unsure) VALUES "
              "(?, (SELECT COALESCE(MAX(created), 0) + 1 FROM file_removals), ?, ?) "
              "ON CONFLICT(uid_prefix) DO UPDATE SET detail = excluded.detail, "
              "unsure = excluded.unsure");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, removal.files.uid_prefix)
      .bind_blob(2, protocol::encode(removal.files))
      .bind(3, unsure)
      .run()
      .annotate("storing the file removal of " + removal.files.uid_prefix);
}

Status StateStore::delete_file_removal(const std::string& uid_prefix) {
  Statement s(db_, "DELETE FROM file_removals WHERE uid_prefix = ?");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, uid_prefix).run().annotate("deleting the file removal of " + uid_prefix);
}

Result<std::vector<FileRemovalRecord>> StateStore::load_file_removals() {
  std::vector<FileRemovalRecord> out;
  Statement s(db_, "SELECT uid_prefix, detail, unsure FROM file_removals ORDER BY created");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  const protocol::DecodeLimits limits;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string prefix = s.text(0);
    auto files = protocol::decode<protocol::RemoveReplicaFiles>(s.blob(1), limits);
    if (!files.ok()) {
      return Internal("the file removal of " + prefix +
                      " is unreadable: " + files.status().message());
    }
    FileRemovalRecord removal{std::move(*files), {}};
    std::istringstream unsure(s.text(2));
    for (std::string node; std::getline(unsure, node);) {
      if (!node.empty()) removal.unsure.push_back(node);
    }
    out.push_back(std::move(removal));
  }
  if (rc != SQLITE_DONE) {
    return Internal(std::string("loading file removals: ") + sqlite3_errmsg(db_));
  }
  return out;
}

namespace {

// A registration as stored: what ran then is the jobs' records' business.
std::string stored_registration(const protocol::RegisterRequest& node) {
  protocol::RegisterRequest detail = node;
  detail.running.clear();
  return protocol::encode(detail);
}

}  // namespace

Status StateStore::put_node(const protocol::RegisterRequest& node) {
  // An upsert, not INSERT OR REPLACE: a replaced row would lose its cordon.
  Statement s(db_,
              "INSERT INTO nodes (name, detail) VALUES (?,?) "
              "ON CONFLICT(name) DO UPDATE SET detail = excluded.detail");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, node.name)
      .bind_blob(2, stored_registration(node))
      .run()
      .annotate("storing node " + node.name);
}

Status StateStore::put_node_cordoned(const protocol::RegisterRequest& node, bool cordoned) {
  Statement s(db_,
              "INSERT INTO nodes (name, detail, cordoned) VALUES (?,?,?) "
              "ON CONFLICT(name) DO UPDATE SET cordoned = excluded.cordoned");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, node.name)
      .bind_blob(2, stored_registration(node))
      .bind(3, int64_t{cordoned ? 1 : 0})
      .run()
      .annotate(std::string(cordoned ? "cordoning" : "uncordoning") + " node " + node.name);
}

Result<std::vector<std::string>> StateStore::load_cordoned_nodes() {
  std::vector<std::string> out;
  Statement s(db_, "SELECT name FROM nodes WHERE cordoned = 1 ORDER BY name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) {
    return Internal(std::string("loading cordoned nodes: ") + sqlite3_errmsg(db_));
  }
  return out;
}

Status StateStore::delete_node(const std::string& name) {
  Statement s(db_, "DELETE FROM nodes WHERE name = ?");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, name).run().annotate("deleting node " + name);
}

Result<std::vector<protocol::RegisterRequest>> StateStore::load_nodes() {
  std::vector<protocol::RegisterRequest> out;
  Statement s(db_, "SELECT name, detail FROM nodes ORDER BY name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  const protocol::DecodeLimits limits;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string name = s.text(0);
    auto node = protocol::decode<protocol::RegisterRequest>(s.blob(1), limits);
    if (!node.ok()) {
      return Internal("node " + name +
                      " has an unreadable stored registration: " + node.status().message());
    }
    out.push_back(std::move(*node));
  }
  if (rc != SQLITE_DONE) return Internal(std::string("loading nodes: ") + sqlite3_errmsg(db_));
  return out;
}

Status StateStore::put_token(const TokenRecord& t) {
  Statement s(db_,
              "INSERT INTO tokens (id, sha256, ns, description, created_ms) VALUES (?,?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, t.info.id)
      .bind(2, t.sha256)
      .bind(3, t.info.ns)
      .bind(4, t.info.description)
      .bind(5, t.info.created_ms)
      .run()
      .annotate("storing token " + t.info.id);
}

Status StateStore::delete_token(const std::string& id) {
  Statement s(db_, "DELETE FROM tokens WHERE id = ?");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, id).run().annotate("deleting token " + id);
}

Result<std::vector<TokenRecord>> StateStore::load_tokens() {
  std::vector<TokenRecord> out;
  Statement s(db_,
              "SELECT id, sha256, ns, description, created_ms FROM tokens ORDER BY created_ms");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    TokenRecord t;
    t.info.id = s.text(0);
    t.sha256 = s.text(1);
    t.info.ns = s.text(2);
    t.info.description = s.text(3);
    t.info.created_ms = s.integer(4);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return Internal(std::string("loading tokens: ") + sqlite3_errmsg(db_));
  return out;
}

}  // namespace cadre::actors

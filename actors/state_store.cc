#include "actors/state_store.h"

#include "actors/sqlite_statement.h"
#include "protocol/codec.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

namespace cadre::actors {
namespace {

using sqlite::Statement;

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS jobs (
  name TEXT PRIMARY KEY, kind TEXT, phase TEXT, reason TEXT, message TEXT,
  exit_code INTEGER, node TEXT, replica TEXT, created_ms INTEGER, started_ms INTEGER,
  finished_ms INTEGER, manifest TEXT, node_epoch INTEGER, attempts INTEGER);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT, time_ms INTEGER, type TEXT, reason TEXT,
  message TEXT);
CREATE INDEX IF NOT EXISTS events_by_job ON events(job);
CREATE TABLE IF NOT EXISTS metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT, uid TEXT, name TEXT, value REAL,
  step INTEGER, time_ms INTEGER);
CREATE INDEX IF NOT EXISTS metrics_by_job ON metrics(job);
CREATE INDEX IF NOT EXISTS metrics_by_series ON metrics(job, uid, name, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER);
CREATE TABLE IF NOT EXISTS experiments (name TEXT PRIMARY KEY, created_ms INTEGER, detail BLOB);
CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, sha256 TEXT, ns TEXT, description TEXT,
  created_ms INTEGER);
CREATE TABLE IF NOT EXISTS services (name TEXT PRIMARY KEY, created_ms INTEGER, detail BLOB,
  token TEXT);
CREATE TABLE IF NOT EXISTS notebooks (name TEXT PRIMARY KEY, created_ms INTEGER, detail BLOB,
  token TEXT);
CREATE TABLE IF NOT EXISTS pipelines (name TEXT, version INTEGER, created_ms INTEGER,
  manifest TEXT, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS runs (name TEXT PRIMARY KEY, created_ms INTEGER, detail BLOB);
CREATE TABLE IF NOT EXISTS recurring_runs (name TEXT PRIMARY KEY, created_ms INTEGER, detail BLOB);
CREATE TABLE IF NOT EXISTS nodes (name TEXT PRIMARY KEY, detail BLOB);
CREATE TABLE IF NOT EXISTS file_removals (uid_prefix TEXT PRIMARY KEY, created INTEGER,
  detail BLOB, unsure TEXT);
)";

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path,
                                                     MetricRetention retention) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Unavailable("cannot open state database " + path + ": " + why);
  }
  std::unique_ptr<StateStore> store(new StateStore(db, retention));
  // WAL keeps readers off the writer's back; FULL syncs the WAL on every commit, so
  // an acknowledged change survives power loss, not only a process crash.
  RETURN_IF_ERROR(store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  RETURN_IF_ERROR(store->exec(kSchema));
  // Columns added after the first release; "duplicate column" means already there.
  (void)store->exec("ALTER TABLE jobs ADD COLUMN gpus TEXT DEFAULT ''");
  (void)store->exec("ALTER TABLE jobs ADD COLUMN detail BLOB");
  (void)store->exec("ALTER TABLE jobs ADD COLUMN token TEXT DEFAULT ''");
  (void)store->exec("ALTER TABLE nodes ADD COLUMN cordoned INTEGER DEFAULT 0");
  return store;
}

StateStore::~StateStore() { sqlite3_close(db_); }

Status StateStore::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string why = error ? error : "unknown";
    sqlite3_free(error);
    return Internal("sqlite: " + why);
  }
  return Status::Ok();
}

Status StateStore::put_job(const JobRecord& r) {
  Statement s(db_,
              "INSERT OR REPLACE INTO jobs (name, kind, phase, reason, message, exit_code, node, "
              "replica, created_ms, started_ms, finished_ms, manifest, attempts, detail, token) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  const auto& j = r.status;
  s.bind(1, j.name)
      .bind(2, j.kind)
      .bind(3, protocol::to_string(j.phase))
      .bind(4, j.reason)
      .bind(5, j.message);
  if (j.exit_code) {
    s.bind(6, static_cast<int64_t>(*j.exit_code));
  } else {
    s.bind_null(6);
  }
  s.bind(7, j.node).bind(8, j.replica).bind(9, j.created_ms).bind(10, j.started_ms);
  s.bind(11, j.finished_ms).bind(12, j.manifest).bind(13, static_cast<int64_t>(r.attempts));
  // Conditions and replicas travel as one msgpack blob of the status itself; the
  // manifest has its own column and metrics their own table.
  protocol::JobStatus detail = j;
  detail.manifest.clear();
  detail.metrics.clear();
  detail.events.clear();
  s.bind_blob(14, protocol::encode(detail)).bind(15, r.token);
  return s.run().annotate("storing job " + j.name);
}

Status StateStore::delete_job(const std::string& name) {
  for (const char* sql : {"DELETE FROM jobs WHERE name = ?", "DELETE FROM events WHERE job = ?",
                          "DELETE FROM metrics WHERE job = ?"}) {
    Statement s(db_, sql);
    RETURN_IF_ERROR(s.prepared());
    RETURN_IF_ERROR(s.bind(1, name).run().annotate("deleting job " + name));
  }
  return Status::Ok();
}

Result<std::vector<JobRecord>> StateStore::load_jobs() {
  std::vector<JobRecord> out;
  Statement s(db_,
              "SELECT name, manifest, attempts, detail, token FROM jobs "
              "ORDER BY created_ms, name");
  RETURN_IF_ERROR(s.prepared());
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    JobRecord r;
    const std::string name = s.text(0);
    auto detail = protocol::decode<protocol::JobStatus>(s.blob(3), protocol::DecodeLimits{});
    if (!detail.ok()) {
      return Internal("job " + name +
                      " has an unreadable stored status: " + detail.status().message());
    }
    r.status = std::move(*detail);
    r.status.name = name;
    r.status.manifest = s.text(1);
    r.attempts = static_cast<int32_t>(s.integer(2));
    r.token = s.text(4);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Internal(std::string("loading jobs: ") + sqlite3_errmsg(db_));
  // Latest value per metric name: the row with the highest id wins.
  Statement m(db_,
              "SELECT job, name, value FROM metrics WHERE id IN "
              "(SELECT MAX(id) FROM metrics GROUP BY job, name)");
  RETURN_IF_ERROR(m.prepared());
  std::map<std::string, std::map<std::string, double>> latest;
  while (m.step() == SQLITE_ROW)
    latest[m.text(0)][m.text(1)] = m.null(2) ? std::numeric_limits<double>::quiet_NaN() : m.real(2);
  for (auto& r : out) r.status.metrics = latest[r.status.name];
  return out;
}

Status StateStore::append_event(const std::string& job, const protocol::JobEvent& e) {
  Statement s(db_, "INSERT INTO events (job, time_ms, type, reason, message) VALUES (?,?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, job)
      .bind(2, e.time_ms)
      .bind(3, protocol::to_string(e.type))
      .bind(4, e.reason)
      .bind(5, e.message)
      .run();
}

Result<std::vector<protocol::JobEvent>> StateStore::events(const std::string& job, int limit) {
  Statement s(db_,
              "SELECT time_ms, type, reason, message FROM (SELECT * FROM events WHERE job = ? "
              "ORDER BY id DESC LIMIT ?) ORDER BY id");
  RETURN_IF_ERROR(s.prepared());
  s.bind(1, job).bind(2, static_cast<int64_t>(limit));
  std::vector<protocol::JobEvent> out;
  while (s.step() == SQLITE_ROW) {
    const auto type = protocol::parse_enum<protocol::EventType>(s.text(1));
    out.push_back(
        {s.integer(0), type.value_or(protocol::EventType::kNormal), s.text(2), s.text(3)});
  }
  return out;
}

Status StateStore::begin() { return exec("BEGIN"); }
Status StateStore::commit() { return exec("COMMIT"); }
void StateStore::rollback() { (void)exec("ROLLBACK"); }

Status StateStore::append_metrics(const std::string& job, const std::string& uid,
                                  const std::vector<protocol::MetricSample>& samples) {
  // Inside a group commit the caller's transaction covers these rows.
  const bool own_transaction = sqlite3_get_autocommit(db_) != 0;
  if (own_transaction) RETURN_IF_ERROR(exec("BEGIN"));
  Statement s(db_,
              "INSERT INTO metrics (job, uid, name, value, step, time_ms) VALUES (?,?,?,?,?,?)");
  Status status = s.prepared();
  for (const auto& sample : samples) {
    if (!status.ok()) break;
    status = s.bind(1, job)
                 .bind(2, uid)
                 .bind(3, sample.name)
                 .bind(4, sample.value)
                 .bind(5, sample.step)
                 .bind(6, sample.time_ms)
                 .run();
    s.reset();
  }
  std::set<std::string> names;
  for (const auto& sample : samples) names.insert(sample.name);
  for (const auto& name : names) {
    if (status.ok()) status = thin_series(job, uid, name);
  }
  if (!own_transaction) return status;
  if (!status.ok()) {
    rollback();
    return status;
  }
  return exec("COMMIT");
}

Result<int64_t> StateStore::metric_points(const std::string& job, const std::string& uid,
                                          const std::string& name) {
  Statement s(db_, "SELECT COUNT(*) FROM metrics WHERE job = ? AND uid = ? AND name = ?");
  RETURN_IF_ERROR(s.prepared());
  s.bind(1, job).bind(2, uid).bind(3, name);
  if (s.step() != SQLITE_ROW) return Internal("metric count failed");
  return s.integer(0);
}

Status StateStore::thin_series(const std::string& job, const std::string& uid,
                               const std::string& name) {
  ASSIGN_OR_RETURN(const int64_t points, metric_points(job, uid, name));
  const int64_t limit = std::max(2, retention_.points_per_series);
  if (points <= limit) return Status::Ok();
  // The newest limit / 2 stay; of the older ones every second goes.
  Statement s(db_,
              "DELETE FROM metrics WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER "
              "(ORDER BY id) AS n FROM metrics WHERE job = ? AND uid = ? AND name = ? ORDER BY id "
              "LIMIT ?) WHERE n % 2 = 0)");
  RETURN_IF_ERROR(s.prepared());
  return s.bind(1, job).bind(2, uid).bind(3, name).bind(4, points - limit / 2).run();
}

Result<std::vector<protocol::MetricSample>> StateStore::metric_history(const std::string& job) {
  Statement s(db_, "SELECT name, value, step, time_ms FROM metrics WHERE job = ? ORDER BY id");
  RETURN_IF_ERROR(s.prepared());
  s.bind(1, job);
  std::vector<protocol::MetricSample> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    std::string name = s.text(0);
    // SQLite stores a NaN as NULL.
    const double value = s.null(1) ? std::numeric_limits<double>::quiet_NaN() : s.real(1);
    out.push_back({std::move(name), value, s.integer(2), s.integer(3)});
  }
  if (rc != SQLITE_DONE) return Internal(std::string("reading metrics: ") + sqlite3_errmsg(db_));
  return out;
}

Result<protocol::MetricsHistoryReply> StateStore::recent_metrics(const std::string& job,
                                                                 const std::string& metric,
                                                                 int64_t max_points) {
  // Newest first so LIMIT keeps the newest; reversed below. One more than asked
  // tells whether older points were left out.
  Statement s(db_,
              "SELECT uid, name, value, step, time_ms FROM metrics WHERE job = ?1 AND "
              "(?2 = '' OR name = ?2) ORDER BY id DESC LIMIT ?3");
  RETURN_IF_ERROR(s.prepared());
  s.bind(1, job);
  s.bind(2, metric);
  s.bind(3, max_points + 1);
  protocol::MetricsHistoryReply reply;
  reply.name = job;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (static_cast<int64_t>(reply.points.size()) == max_points) {
      reply.truncated = true;
      continue;
    }
    const double value = s.null(2) ? std::numeric_limits<double>::quiet_NaN() : s.real(2);
    reply.points.push_back({s.text(0), s.text(1), value, s.integer(3), s.integer(4)});
  }
  if (rc != SQLITE_DONE) return Internal(std::string("reading metrics: ") + sqlite3_errmsg(db_));
  std::reverse(reply.points.begin(), reply.points.end());
  return reply;
}

Result<uint64_t> StateStore::next_epoch() {
  RETURN_IF_ERROR(
      exec("INSERT INTO meta (key, value) VALUES ('epoch', 1) "
           "ON CONFLICT(key) DO UPDATE SET value = value + 1"));
  Statement s(db_, "SELECT value FROM meta WHERE key = 'epoch'");
  RETURN_IF_ERROR(s.prepared());
  if (s.step() != SQLITE_ROW) return Internal("epoch counter missing");
  return static_cast<uint64_t>(s.integer(0));
}

}  // namespace cadre::actors

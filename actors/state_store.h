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

class StateStore {
 public:
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  Status put_job(const JobRecord& record);     // insert or replace
  Status delete_job(const std::string& name);  // with its events and metrics
  Result<std::vector<JobRecord>> load_jobs();  // metrics filled with the latest values

  Status append_event(const std::string& job, const protocol::JobEvent& event);
  Result<std::vector<protocol::JobEvent>> events(const std::string& job, int limit);
  Status append_metrics(const std::string& job, const std::string& uid,
                        const std::vector<protocol::MetricSample>& samples);

  // Strictly increasing across restarts: the fencing epoch for a registration.
  Result<uint64_t> next_epoch();

  // Group commit: writes between begin() and commit() share one transaction and
  // so one fsync. Outside a transaction every write commits on its own.
  Status begin();
  Status commit();
  void rollback();

 private:
  explicit StateStore(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  sqlite3* db_;
};

}  // namespace cadre::actors

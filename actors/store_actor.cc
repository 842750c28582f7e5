#include <spdlog/spdlog.h>

#include <chrono>
#include <variant>

#include "actors/actors.h"

namespace cadre::actors {
namespace store_shell {
namespace {

using flush_atom = caf::atom_constant<caf::atom("flush")>;

struct PutJob {
  JobRecord record;
  caf::response_promise promise;  // answered after the commit
};
struct PutExperiment {
  protocol::ExperimentStatus experiment;
  caf::response_promise promise;  // answered after the commit
};
struct PutService {
  ServiceRecord service;
  caf::response_promise promise;
};
struct PutRun {
  protocol::PipelineRunStatus run;
  caf::response_promise promise;
};
struct AppendEvent {
  std::string job;
  protocol::JobEvent event;
};
struct AppendMetrics {
  std::string job, uid;
  std::vector<protocol::MetricSample> samples;
};
using Write = std::variant<PutJob, PutExperiment, PutService, PutRun, AppendEvent, AppendMetrics>;

struct StoreState {
  std::shared_ptr<StateStore> store;
  std::shared_ptr<CoordinatorMetrics> metrics;
  std::vector<Write> pending;  // in arrival order
  bool flush_queued = false;
};

using Self = caf::stateful_actor<StoreState>;

// Group commit: every write that reached the mailbox before the flush message is
// applied in one transaction, so a burst of N writes costs one fsync instead of N
// (synchronous=FULL makes each commit a disk sync). Nobody hears "stored" before
// the commit that holds their write.
void flush(Self* self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.pending.empty()) return;
  std::vector<Write> batch;
  batch.swap(st.pending);
  const auto began = std::chrono::steady_clock::now();
  Status status = st.store->begin();
  for (auto& write : batch) {
    if (!status.ok()) break;
    if (auto* put = std::get_if<PutJob>(&write)) {
      status = st.store->put_job(put->record);
    } else if (auto* experiment = std::get_if<PutExperiment>(&write)) {
      status = st.store->put_experiment(experiment->experiment);
    } else if (auto* service = std::get_if<PutService>(&write)) {
      status = st.store->put_service(service->service);
    } else if (auto* run = std::get_if<PutRun>(&write)) {
      status = st.store->put_run(run->run);
    } else if (auto* event = std::get_if<AppendEvent>(&write)) {
      Status s = st.store->append_event(event->job, event->event);
      if (!s.ok()) spdlog::warn("store: job={} event not stored: {}", event->job, s.to_string());
    } else if (auto* metrics = std::get_if<AppendMetrics>(&write)) {
      Status s = st.store->append_metrics(metrics->job, metrics->uid, metrics->samples);
      if (!s.ok())
        spdlog::warn("store: job={} metrics not stored: {}", metrics->job, s.to_string());
    }
  }
  status = status.ok() ? st.store->commit() : status;
  if (st.metrics) st.metrics->committed(std::chrono::steady_clock::now() - began);
  if (!status.ok()) {
    st.store->rollback();
    spdlog::error("store: batch of {} writes not stored: {}", batch.size(), status.to_string());
  }
  const Status verdict = status.annotate("store");
  for (auto& write : batch) {
    if (auto* put = std::get_if<PutJob>(&write)) put->promise.deliver(verdict);
    if (auto* put = std::get_if<PutExperiment>(&write)) put->promise.deliver(verdict);
    if (auto* put = std::get_if<PutService>(&write)) put->promise.deliver(verdict);
    if (auto* put = std::get_if<PutRun>(&write)) put->promise.deliver(verdict);
  }
}

void enqueue(Self* self, Write write) {
  self->state.pending.push_back(std::move(write));
  if (!self->state.flush_queued) {
    self->state.flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

// Runs detached: it blocks on fsync, and must not hold a scheduler thread.
caf::behavior store_actor(Self* self, std::shared_ptr<StateStore> store,
                          std::shared_ptr<CoordinatorMetrics> metrics) {
  self->state.store = std::move(store);
  self->state.metrics = std::move(metrics);
  return {
      [=](flush_atom) { flush(self); },
      [=](put_atom, const JobRecord& record) {
        enqueue(self, PutJob{record, self->make_response_promise()});
      },
      [=](put_atom, const protocol::ExperimentStatus& experiment) {
        enqueue(self, PutExperiment{experiment, self->make_response_promise()});
      },
      [=](put_atom, const ServiceRecord& service) {
        enqueue(self, PutService{service, self->make_response_promise()});
      },
      [=](put_atom, const protocol::PipelineRunStatus& run) {
        enqueue(self, PutRun{run, self->make_response_promise()});
      },
      [=](put_atom, pipeline_atom, const std::string& name,
          const protocol::PipelineVersion& version) -> Status {
        flush(self);
        return self->state.store->put_pipeline_version(name, version);
      },
      [=](delete_atom, pipeline_atom, const std::string& name) -> Status {
        flush(self);
        return self->state.store->delete_pipeline(name);
      },
      [=](delete_atom, run_atom, const std::string& name) -> Status {
        flush(self);
        Status s = self->state.store->delete_run(name);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      // Registrations are rare (an agent starting or coming back): each commits alone.
      [=](put_atom, const protocol::RegisterRequest& node) -> Status {
        flush(self);
        Status s = self->state.store->put_node(node);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](cordon_atom, const protocol::RegisterRequest& node, bool cordoned) -> Status {
        flush(self);
        Status s = self->state.store->put_node_cordoned(node, cordoned);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](delete_atom, node_atom, const std::string& name) -> Status {
        flush(self);
        Status s = self->state.store->delete_node(name);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      // A job's file removal is written when the job is deleted and as its nodes answer.
      [=](put_atom, const FileRemovalRecord& removal) -> Status {
        flush(self);
        Status s = self->state.store->put_file_removal(removal);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](delete_atom, files_atom, const std::string& uid_prefix) -> Status {
        flush(self);
        Status s = self->state.store->delete_file_removal(uid_prefix);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](put_atom, const TokenRecord& token) -> Status {
        flush(self);
        return self->state.store->put_token(token);
      },
      [=](delete_atom, token_atom, const std::string& id) -> Status {
        flush(self);
        return self->state.store->delete_token(id);
      },
      // Recurring runs write seldom (a run started): each commits on its own.
      [=](put_atom, const protocol::RecurringRunStatus& recurring) -> Status {
        flush(self);
        Status s = self->state.store->put_recurring_run(recurring);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](put_atom, const NotebookRecord& notebook) -> Status {
        flush(self);
        Status s = self->state.store->put_notebook(notebook);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](delete_atom, notebook_atom, const std::string& name) -> Status {
        flush(self);
        Status s = self->state.store->delete_notebook(name);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](delete_atom, recurring_atom, const std::string& name) -> Status {
        flush(self);
        Status s = self->state.store->delete_recurring_run(name);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](delete_atom, service_atom, const std::string& name) -> Status {
        flush(self);
        Status s = self->state.store->delete_service(name);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](delete_atom, experiment_atom, const std::string& name) -> Status {
        flush(self);
        Status s = self->state.store->delete_experiment(name);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](event_atom, const std::string& job, const protocol::JobEvent& event) {
        enqueue(self, AppendEvent{job, event});
      },
      [=](metrics_atom, const std::string& job, const std::string& uid,
          const std::vector<protocol::MetricSample>& samples) {
        enqueue(self, AppendMetrics{job, uid, samples});
      },
      // Reads and deletes see every earlier write: flush first.
      [=](delete_atom, const std::string& job) -> Status {
        flush(self);
        Status s = self->state.store->delete_job(job);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s;
      },
      [=](history_atom, const std::string& job, const std::string& metric,
          int64_t max_points) -> caf::result<protocol::MetricsHistoryReply> {
        flush(self);
        auto reply = self->state.store->recent_metrics(job, metric, max_points);
        if (!reply.ok()) return caf::make_error(caf::sec::runtime_error, reply.status().message());
        return std::move(*reply);
      },
      [=](events_atom, const std::string& job) -> std::vector<protocol::JobEvent> {
        flush(self);
        auto events = self->state.store->events(job, 200);
        return events.ok() ? *events : std::vector<protocol::JobEvent>{};
      },
      [=](epoch_atom) -> uint64_t {
        flush(self);
        auto epoch = self->state.store->next_epoch();
        if (!epoch.ok()) {
          // Without a durable epoch fencing is unsafe; refuse to go on.
          spdlog::critical("store: cannot advance epoch: {}", epoch.status().to_string());
          std::abort();
        }
        return *epoch;
      },
  };
}

}  // namespace
}  // namespace store_shell

caf::actor spawn_store(caf::actor_system& system, std::shared_ptr<StateStore> store,
                       std::shared_ptr<CoordinatorMetrics> metrics) {
  return system.spawn<caf::detached>(store_shell::store_actor, std::move(store),
                                     std::move(metrics));
}

}  // namespace cadre::actors

// The supervisor of one Notebook as a pure state machine: events in, effects out,
// no CAF (STYLE.md §12). notebook_actor.cc is the thin shell; the manager creates
// and deletes the server jobs it asks for and forwards their status here.
//
// A notebook runs its Jupyter server as a one-replica job "<name>-<k>", a new k for
// every start, so an old server's late news never mixes with the new one's. The
// first placement pins the notebook to that node: its workspace lives there (as a
// local volume pins a Kubeflow notebook's pod), and every later server asks the
// scheduler for that node only, waiting while it is away. A server that ends on its
// own is started again after a doubling back-off (crash loops slow down, not stop);
// `spec.stopped: true` stops it and keeps the workspace; false starts it again. A
// change of the template restarts the server with the new one.
//
// Culling, as Kubeflow's culler does it: an ingress reads the server's Jupyter
// activity (api/status, api/kernels) and reports it; a server idle past
// spec.idleCullingMinutes, with no kernel executing, is stopped by rewriting
// spec.stopped to true (reason IdleCulled; `cadre notebook start` brings it back).
//
// Durability as for jobs (write_barrier.h): every change is persisted first, and a
// server's job is created only once the record naming it is stored. After a
// coordinator restart a stored server whose job exists is adopted, one whose job
// does not is started again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/cluster_policy.h"
#include "actors/notebook_server_job.h"
#include "actors/state_store.h"
#include "actors/write_barrier.h"
#include "protocol/messages.h"
#include "protocol/spec/notebook_spec.h"
#include "protocol/status.h"

namespace cadre::actors {

namespace notebook_effect {
struct Persist {  // write record(); answer with on_stored(seq, status)
  uint64_t seq = 0;
};
struct PublishSummary {};  // the manager gets summary()
struct RecordEvent {
  protocol::JobEvent event;
};
struct CreateJob {  // create a server's job (answer with on_job_created)
  std::string job;
  std::string yaml;
  std::string node;  // the node it must run on; empty: any (the first start)
};
struct DeleteJob {  // stop and delete a server's job (answer with on_job_deleted)
  std::string job;
};
struct StartTimer {  // call on_timer() after this long
  std::chrono::milliseconds after{0};
};
struct AnswerApply {
  uint64_t request = 0;
  Status status;
  std::string action;  // "configured" or "unchanged"
};
struct EraseRecord {};  // delete the notebook from the store; answer with on_erased
struct AnswerDelete {
  std::vector<uint64_t> requests;
  Status status;
};
struct Stop {};  // the notebook is gone: the shell tells the manager and quits
}  // namespace notebook_effect

using NotebookEffect = std::variant<notebook_effect::Persist, notebook_effect::PublishSummary,
                                    notebook_effect::RecordEvent, notebook_effect::CreateJob,
                                    notebook_effect::DeleteJob, notebook_effect::StartTimer,
                                    notebook_effect::AnswerApply, notebook_effect::EraseRecord,
                                    notebook_effect::AnswerDelete, notebook_effect::Stop>;
using NotebookEffects = std::vector<NotebookEffect>;

struct NotebookMachineOptions {
  StoreRetryPolicy store_retry;
  std::function<int64_t()> now_ms;  // wall clock; default wall_ms()
  // The shared checkpoint root: a notebook without workspace.path keeps its files
  // in <root>/<namespace>/_notebooks/<name>.
  std::string checkpoint_root;
  // Starting servers that keep ending: 1 s, 2 s, 4 s ... up to the cap.
  std::chrono::milliseconds failure_backoff{1000};
  std::chrono::milliseconds failure_backoff_max{60000};
  // A purge that has not removed the workspace by then fails (its node is away).
  std::chrono::milliseconds purge_timeout{120000};
  // Where its kernels reach the coordinator's client port, and its public key: the
  // server gets a client config scoped to the notebook's namespace (empty: none).
  std::string client_endpoint;
  std::string server_public_key;
};

// A notebook as applied: its spec and the manifest text.
struct NotebookApply {
  spec::NotebookSpec spec;
  std::string manifest;
};

class NotebookStateMachine {
 public:
  static NotebookRecord first_record(const NotebookApply& apply, std::string token, int64_t now_ms);
  // Fails when the stored manifest no longer parses (it did when applied).
  static Result<std::unique_ptr<NotebookStateMachine>> Create(NotebookRecord record,
                                                              NotebookMachineOptions options);

  // Exactly one of these starts the machine.
  NotebookEffects create();
  // After a coordinator restart: the current summaries of the jobs it owns.
  NotebookEffects restore(const std::map<std::string, protocol::JobStatus>& jobs);

  NotebookEffects on_apply(uint64_t request, const NotebookApply& apply);
  NotebookEffects on_job_created(const std::string& job, const Status& status);
  NotebookEffects on_job_status(const protocol::JobStatus& job);
  NotebookEffects on_job_gone(const std::string& job);  // deleted by someone else
  NotebookEffects on_job_deleted(const std::string& job, const Status& status);
  NotebookEffects on_timer();
  // `purge`: the workspace folder is removed too, by a job on its node, before the
  // record goes; refused for a spec.workspace.path (the user's folder). A purge
  // that fails leaves the notebook as it was, running again.
  NotebookEffects on_delete(uint64_t request, bool purge = false);
  NotebookEffects on_stored(uint64_t seq, const Status& status);
  NotebookEffects on_erased(const Status& status);
  // What an ingress read from the server; ignored unless it is the current one.
  NotebookEffects on_activity(const protocol::NotebookActivity& activity);

  const NotebookRecord& record() const { return rec_; }
  const std::string& name() const { return rec_.status.name; }
  protocol::NotebookStatus status() const { return rec_.status; }
  protocol::NotebookStatus summary() const;  // without the manifest
  // Where the ingress proxies it, with Jupyter's token.
  protocol::NotebookRoute route() const;
  // The server job's manifest for the current spec.
  std::string render_job(const std::string& job) const;
  // The job that removes the workspace on its node.
  std::string render_purge_job(const std::string& job) const;

 private:
  NotebookStateMachine(NotebookRecord record, NotebookMachineOptions options,
                       spec::NotebookSpec spec);

  struct CreateIfWanted {  // the server is still wanted: create its job
    std::string job;
  };
  struct Publish {};
  struct Answer {
    uint64_t request = 0;
  };
  using Deferred = std::variant<CreateIfWanted, Publish, Answer>;

  int64_t now() const { return options_.now_ms(); }
  protocol::NotebookStatus& st() { return rec_.status; }
  const protocol::NotebookStatus& st() const { return rec_.status; }

  void persist(NotebookEffects& out, std::vector<Deferred> then = {});
  void run_deferred(NotebookEffects& out, const Deferred& d);
  void event(NotebookEffects& out, protocol::EventType type, const std::string& reason,
             const std::string& message);
  void set_phase(protocol::NotebookPhase phase, const std::string& reason,
                 const std::string& message);
  // Starts, stops or erases toward what the spec wants.
  void reconcile(NotebookEffects& out);
  void stop_server(NotebookEffects& out);
  void server_ended(NotebookEffects& out, const std::string& why);
  void clear_server();
  NotebookJobContext job_context() const;
  void cull(NotebookEffects& out, int64_t idle_ms, const protocol::NotebookActivity& seen);
  void purge_workspace(NotebookEffects& out);
  void purge_failed(NotebookEffects& out, const std::string& why);

  NotebookRecord rec_;
  NotebookMachineOptions options_;
  spec::NotebookSpec spec_;
  WriteBarrier<Deferred> writes_;
  bool creating_ = false;     // the current job is being created
  std::string deleting_job_;  // a job being stopped and deleted
  bool restart_ = false;      // the template changed: the running server makes way
  bool backing_off_ = false;  // a restart waits for its back-off timer
  bool deleting_ = false;     // the notebook is being deleted
  bool erasing_ = false;
  std::vector<uint64_t> delete_requests_;
  std::string stop_reason_;  // why the server is being stopped (Stopped, IdleCulled)
  bool purge_ = false;       // the delete removes the workspace too
  bool purged_ = false;      // it is removed (or there was none)
  std::string purge_job_;    // the job removing it
  int64_t purge_deadline_ms_ = 0;
};

}  // namespace cadre::actors

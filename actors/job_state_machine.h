// The supervisor of one Job or TrainJob as a pure state machine: events in,
// effects out, no CAF. The job actor (job_actor.cc) is a thin shell that turns
// messages into calls here and carries out the effects returned, in order.
//
// clang-format off
//   Queued     --gang placed and stored, every replica started-------> Running
//   Running    --success policy met-----------------------------------> Succeeded
//   Running    --a replica failed, restart policy says retry----------> Restarting
//   Restarting --every old instance ended, new gang placed, started---> Running
//   Running    --permanent failure, or backoffLimit reached-----------> Failed
//   Queued     --no node set could ever hold the gang-----------------> Failed/Unschedulable
//   Queued     --no node that could hold it accepts its launch--------> Failed/LaunchTooLarge
//   Queued, Running, Restarting --cadre suspend: replicas stopped-----> Suspended
//   (created)  --runPolicy.suspend (a Job's spec.suspend)-------------> Suspended
//   Suspended  --cadre resume: every old instance ended, gang queued--> Queued
//   Running, Restarting --preempted by a higher priority: replicas
//                          stopped, gang queued again once they ended--> Queued/Preempted
//   any        --activeDeadlineSeconds passed-------------------------> Failed/DeadlineExceeded
//   any        --the store refused every retry------------------------> Failed/StoreUnavailable
// clang-format on
//
// A replica is Pending (not placed), Starting (launch sent), Running, Terminating
// (kill sent), Succeeded or Failed. A collective gang restarts as a whole, and only
// once every old instance has ended: no two instances of a rank ever run together.
// gang_rules.h decides what an exit means; replica_environment.h builds each launch.
//
// Durability (DESIGN.md: a change is on disk before anyone hears of it): every
// transition emits Persist{seq}; what depends on it — launches, exit acknowledgements,
// the summary other clients read, finishing a delete — is held back and released only
// by on_stored(seq, Ok) for that write or a later one (each write holds the whole
// record). A failed write is retried with backoff; past the retry limit the job fails
// with reason StoreUnavailable, its held-back launches are never sent and its
// replicas are stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "actors/cluster_policy.h"
#include "actors/gang_rules.h"
#include "actors/replica_environment.h"
#include "actors/scheduler.h"
#include "actors/state_store.h"
#include "actors/write_barrier.h"
#include "protocol/messages.h"
#include "protocol/spec/train_job_spec.h"
#include "protocol/status.h"

namespace cadre::actors {

// A node's registration as the manager forwards it to one job: the uids of that
// job's replicas the node reported alive.
struct NodeReport {
  std::string node;
  uint64_t epoch = 0;
  std::set<std::string> running;
};

// Where one replica of a job runs, for log reads.
struct ReplicaLocation {
  bool exists = false;  // the job has a replica of that name (placed or not)
  bool found = false;   // the job has (had) a replica on some node
  std::string node;
  uint64_t epoch = 0;
  std::string uid;
  bool finished = false;  // the replica has exited: its log will not grow
};

// A timer the machine asked for, handed back to on_timer when it fires.
struct JobTimer {
  enum class Kind {
    kKillUnanswered,    // a kill of `uid` was never answered: its node's lease has killed it
    kReportMissing,     // `uid` was not reported by its node: its exit may still be on its way
    kLaunchUnanswered,  // `uid` was launched and its node never said it started
    kDeadline,          // runPolicy.activeDeadlineSeconds
    kExpire,            // runPolicy.ttlSecondsAfterFinished
    kDeleteTimeout,     // replicas being deleted did not all report their end
    kStoreRetry,        // write the record again after a failed write
  };
  Kind kind = Kind::kDeadline;
  std::string uid;  // for the replica timers
};

namespace job_effect {
struct Persist {  // write record(); answer with on_stored(seq, status)
  uint64_t seq = 0;
};
struct PublishSummary {};  // the manager's list cache gets summary()
struct RecordEvent {       // append to the job's event log (and the process log)
  protocol::JobEvent event;
};
struct RequestPlacement {  // ask the scheduler for the whole gang
  GangRequest gang;
};
struct CancelPlacement {};  // drop the job's queued gang, if any
struct Release {            // free a slot ("<job>/<replica>") or all of the job's ("<job>/")
  std::string key;
};
struct Reserve {  // re-assert a slot that survived a coordinator restart
  std::string key;
  std::string node;
  spec::ResourceRequest request;
  std::vector<int32_t> gpu_indices;
  int32_t port = 0;
  int32_t priority = 0;      // the job's, for the scheduler's choice of preemption victims
  bool preemptible = false;  // GangRequest::preemptible
  std::string queue;         // GangRequest::queue, counted against its quota
};
struct Launch {
  std::string node;
  uint64_t epoch = 0;
  protocol::LaunchReplica launch;
};
struct Kill {
  std::string node;
  uint64_t epoch = 0;
  protocol::KillReplica kill;
};
struct AckExit {  // the exit is durable: the agent may forget it
  std::string node;
  uint64_t epoch = 0;
  std::string uid;
};
struct StoreMetrics {
  std::string uid;
  std::vector<protocol::MetricSample> samples;
};
struct ForwardMetrics {  // the leader's samples, for the job's owner (an experiment)
  std::vector<protocol::MetricSample> samples;
};
struct StartTimer {
  std::chrono::milliseconds after{0};
  JobTimer timer;
};
struct EraseRecord {};  // delete the job from the store; answer with on_erased(status)
struct AnswerDelete {   // answer each waiting delete request
  std::vector<uint64_t> requests;
  Status status;
};
// The job is erased: every agent removes the folders and logs of its replicas.
struct RemoveFiles {
  protocol::RemoveReplicaFiles files;
};
struct Stop {};         // the job is gone: the shell tells the manager and quits
struct AnswerSuspend {  // answer a suspend or resume request (on_suspend)
  uint64_t request = 0;
  Status status;
  bool changed = false;  // false: the job already was so
  protocol::JobPhase phase = protocol::JobPhase::kQueued;
};
}  // namespace job_effect

using JobEffect =
    std::variant<job_effect::Persist, job_effect::PublishSummary, job_effect::RecordEvent,
                 job_effect::RequestPlacement, job_effect::CancelPlacement, job_effect::Release,
                 job_effect::Reserve, job_effect::Launch, job_effect::Kill, job_effect::AckExit,
                 job_effect::StoreMetrics, job_effect::ForwardMetrics, job_effect::StartTimer,
                 job_effect::EraseRecord, job_effect::AnswerDelete, job_effect::RemoveFiles,
                 job_effect::Stop, job_effect::AnswerSuspend>;
using JobEffects = std::vector<JobEffect>;

struct JobMachineOptions {
  ClusterPolicy policy;             // timings, retries and the checkpoint root
  std::function<int64_t()> now_ms;  // wall clock for status times; default wall_ms()
};

class JobStateMachine {
 public:
  JobStateMachine(JobRecord record, spec::TrainJobSpec spec, JobMachineOptions options);

  // Exactly one of these starts the machine.
  JobEffects create();   // a new job: Created, Queued, ask for placement
  JobEffects restore();  // after a coordinator restart: hold placed slots, await reports

  JobEffects on_placed(int64_t attempt, const std::vector<Placement>& placements);
  // No node set could ever hold the gang (Unschedulable), or none that could
  // accepts its launch (LaunchTooLarge): the job fails, saying why.
  JobEffects on_never_fits(int64_t attempt, const NeverFits& never);
  // The scheduler's account of why the gang still waits (Scheduler::why_waiting):
  // the job's message says it, as a pending pod's PodScheduled condition does.
  JobEffects on_waiting(int64_t attempt, const std::string& why);
  JobEffects on_started(const std::string& node, const protocol::ReplicaStarted& started);
  JobEffects on_exited(const std::string& node, const protocol::ReplicaExited& exit);
  JobEffects on_metrics(const protocol::MetricsReport& report);
  // Metrics a pipeline step logged into its Metrics artifact (not printed):
  // stored as the leader's, bounded like printed ones.
  JobEffects on_logged_metrics(const std::vector<protocol::MetricSample>& samples);
  // The agent's probe of a serving replica changed its mind (LaunchReplica.readiness_path).
  JobEffects on_readiness(const std::string& node, const protocol::ReplicaReadiness& readiness);
  JobEffects on_node_report(const NodeReport& report);
  JobEffects on_node_lost(const std::string& node);
  // Its node is drained (cadre drain): a gang with a replica running there restarts
  // elsewhere (the node is cordoned first), not counted against backoffLimit.
  JobEffects on_evict(const std::string& node);
  JobEffects on_timer(const JobTimer& timer);
  // A delete request (`request` names the caller for AnswerDelete); every caller of a
  // delete in progress is answered when it completes.
  JobEffects on_delete(uint64_t request);
  // The owner ends the job early (an experiment stopping a trial): its replicas are
  // killed and it ends Failed with `reason`. Nothing happens to a finished job.
  JobEffects on_stop(const std::string& reason, const std::string& message);
  // cadre suspend (true) or resume (false), as Kubeflow's runPolicy.suspend: a
  // suspended job's replicas are stopped (Stopped, not counted against backoffLimit),
  // its queued gang withdrawn and its deadline paused; resumed, its whole gang is
  // queued again (once every old instance has ended) and resumes from its
  // checkpoints, its activeDeadlineSeconds counting afresh. `request` is answered
  // (AnswerSuspend) once the change is stored; a finished or deleting job refuses.
  // `manifest`: applied again with only its suspend field changed, the new text
  // the job keeps from now on (differ_only_in_suspend); empty for cadre suspend.
  JobEffects on_suspend(uint64_t request, bool suspend, const std::string& manifest = "");
  // The scheduler stops this job to make room for `by`, a waiting gang, for `cause`
  // ("priority 10, above its 0", or a cohort reclaim) (Kubernetes' preemption, Kueue's
  // eviction and requeue): every replica is stopped, not counted against
  // backoffLimit, and the whole gang queued again once they have ended, to resume from
  // its checkpoints. Nothing happens to a job that holds no running replica
  // (finished, suspended, already stopping or queued).
  JobEffects on_preempt(const std::string& by, const std::string& cause);
  JobEffects on_stored(uint64_t seq, const Status& status);
  JobEffects on_erased(const Status& status);

  const JobRecord& record() const { return rec_; }
  const std::string& name() const { return rec_.status.name; }
  // The status with per-type counts, as `cadre get` shows it.
  protocol::JobStatus status() const;
  // status() without the manifest: what the manager's list cache holds.
  protocol::JobStatus summary() const;
  // Where replica `name` runs; empty name: the replica whose exit decides the job.
  ReplicaLocation locate(const std::string& name) const;
  bool deleting() const { return deleting_; }

 private:
  // Work that waits for a durable write (see the file comment).
  struct LaunchIfCurrent {
    size_t index;
    std::string uid;  // skipped if the replica has a newer instance or left Starting
  };
  struct AckIfStored {
    std::string node;
    uint64_t epoch;
    std::string uid;
  };
  struct FinishDeleteIfDone {};
  struct Publish {};
  struct AnswerSuspendIfStored {
    uint64_t request;
    bool changed;
  };
  using Deferred = std::variant<LaunchIfCurrent, AckIfStored, FinishDeleteIfDone, Publish,
                                AnswerSuspendIfStored>;

  using ReplicaStatus = protocol::ReplicaStatus;
  std::vector<ReplicaStatus>& replicas() { return rec_.status.replicas; }
  const std::vector<ReplicaStatus>& replicas() const { return rec_.status.replicas; }
  const spec::ReplicaSpec& spec_of(const ReplicaStatus& r) const { return *spec_.find(r.type); }
  std::string slot_key(const ReplicaStatus& r) const { return name() + "/" + r.name; }
  std::string ref() const;  // "job/NAME" or "trainjob/NAME", as the client names it
  std::optional<size_t> find_uid(const std::string& uid) const;
  bool none_alive() const;
  bool all_up() const;  // every replica Running or Succeeded
  // Batch work (not an InferenceService's replica nor a notebook's server): a
  // higher-priority gang may preempt it, and it may preempt lower ones.
  bool batch() const;
  int64_t now() const { return options_.now_ms(); }
  int64_t grace_ms(const ReplicaStatus& r) const;

  JobIdentity identity() const;  // what make_launch needs to know of the job
  // Why the just-placed gang cannot be launched: a launch larger than its node's agent
  // accepts. nullopt: every launch fits.
  std::optional<std::string> oversized_launch(const std::vector<Placement>& placements) const;

  void persist(JobEffects& out, std::vector<Deferred> then = {});
  void run_deferred(JobEffects& out, const Deferred& d);
  void give_up_on_store(JobEffects& out, const Status& status);

  void event(JobEffects& out, protocol::EventType type, const std::string& reason,
             const std::string& message);
  void set_condition(protocol::ConditionType type, const std::string& reason,
                     const std::string& message);
  void set_phase(protocol::JobPhase phase, const std::string& reason, const std::string& message);
  void terminate(JobEffects& out, ReplicaStatus& r, const std::string& why);
  void request_placement(JobEffects& out);
  void new_instance(ReplicaStatus& r);
  void finish(JobEffects& out, protocol::JobPhase phase, const std::string& reason,
              const std::string& message, bool kill_all = false);
  void place_gang_again(JobEffects& out);
  void restart(JobEffects& out, std::vector<Deferred>& then, size_t i, const ExitDecision& d,
               const std::string& what);
  void handle_end(JobEffects& out, std::vector<Deferred>& then, size_t i, bool was_terminating,
                  int32_t signal, const std::string& detail);
  JobEffects end_unreported(size_t i, const std::string& why, const std::string& detail);
  void start_delete(JobEffects& out);
  void complete_delete(JobEffects& out);
  void arm_deadline(JobEffects& out);
  int64_t deadline_due_ms() const;  // from creation or the last resume
  void arm_ttl(JobEffects& out);
  void mark_up(JobEffects& out, const std::string& reason, const std::string& message);
  void withdraw_placement(JobEffects& out);  // cancel the queued gang, ignore late answers
  void suspend(JobEffects& out, const std::string& message);
  void resume(JobEffects& out);

  JobRecord rec_;
  spec::TrainJobSpec spec_;
  JobMachineOptions options_;
  std::set<std::string> metric_names_;  // names this job has reported (max_metric_names)
  bool warned_metric_names_ = false;
  std::vector<bool> confirmed_;    // per replica: its node reported it since restore/registration
  int64_t placement_attempt_ = 0;  // answers for an older gang request are ignored
  bool waiting_ = false;           // the message says why the current attempt waits
  int32_t port_retries_ = 0;       // free placements after a taken port since it last ran
  bool deleting_ = false;
  bool erasing_ = false;                   // EraseRecord sent, on_erased pending
  std::vector<uint64_t> delete_requests_;  // callers waiting for the delete to complete
  WriteBarrier<Deferred> writes_;          // what waits for which Persist (write_barrier.h)
};

}  // namespace cadre::actors

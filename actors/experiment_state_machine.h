// The supervisor of one Experiment as a pure state machine: events in, effects
// out, no CAF (STYLE.md §12). experiment_actor.cc is the thin shell; the manager
// creates, stops and deletes the trial jobs it asks for and forwards their status
// and metrics here.
//
// clang-format off
//   Created --stored-------------------------------------------------> Running
//   Running --a trial's objective reached spec.objective.goal--------> Succeeded/GoalReached
//   Running --maxTrialCount trials made and none left running--------> Succeeded/MaxTrialsReached
//   Running --the algorithm has nothing left and none running--------> Succeeded/SearchSpaceExhausted
//   Running --more than maxFailedTrialCount trials failed------------> Failed/MaxFailedTrialsReached
//   Running --the store refused every retry---------------------------> Failed/StoreUnavailable
// clang-format on
//
// A trial is a point of the search space run as a job rendered from the template.
// When Hyperband or ASHA promotes it, it continues as a new job ("<trial>-r<k>")
// that shares its checkpoint folder, so the trial resumes where its last job
// stopped. Trials end Succeeded, Failed (reason InvalidMetric when the objective
// was NaN or infinite), EarlyStopped (median stopping), MetricsUnavailable (the job
// succeeded without reporting the objective) or Killed (the experiment ended).
//
// Durability as for jobs (write_barrier.h): every change is persisted first, and a
// trial's job is created only once the record naming it is stored. The job's name
// is the trial's identity: after a coordinator restart a stored trial whose job
// does not exist gets it created again, one whose job exists is adopted, so no
// trial ever runs twice. The algorithm keeps no state of its own; it is rebuilt
// from the stored trials, and running trials' curves from the stored metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "actors/cluster_policy.h"
#include "actors/write_barrier.h"
#include "protocol/messages.h"
#include "protocol/spec/experiment_spec.h"
#include "protocol/status.h"
#include "tuning/median_stop.h"
#include "tuning/suggester.h"

namespace cadre::actors {

namespace experiment_effect {
struct Persist {  // write record(); answer with on_stored(seq, status)
  uint64_t seq = 0;
};
struct PublishSummary {};  // the manager's list cache gets summary()
struct RecordEvent {
  protocol::JobEvent event;
};
// Create the job of a trial (answer with on_job_created). Its replicas' checkpoint
// folder is named `checkpoint_name` (the trial's), whatever the job is called.
struct CreateJob {
  std::string job;
  std::string yaml;
  std::string checkpoint_name;
  protocol::MetricsCollection metrics;  // spec.metricsCollectorSpec, for the agent
};
struct StopJob {  // end the job now: replicas killed, phase Failed with `reason`
  std::string job;
  std::string reason;
  std::string message;
};
struct DeleteJob {  // delete the job and its records (answer with on_job_deleted)
  std::string job;
};
struct StartRetryTimer {  // call on_retry_timer after this long
  std::chrono::milliseconds after{0};
};
struct EraseRecord {};  // delete the experiment from the store; answer with on_erased
struct AnswerDelete {
  std::vector<uint64_t> requests;
  Status status;
};
struct Stop {};  // the experiment is gone: the shell tells the manager and quits
}  // namespace experiment_effect

using ExperimentEffect =
    std::variant<experiment_effect::Persist, experiment_effect::PublishSummary,
                 experiment_effect::RecordEvent, experiment_effect::CreateJob,
                 experiment_effect::StopJob, experiment_effect::DeleteJob,
                 experiment_effect::StartRetryTimer, experiment_effect::EraseRecord,
                 experiment_effect::AnswerDelete, experiment_effect::Stop>;
using ExperimentEffects = std::vector<ExperimentEffect>;

struct ExperimentMachineOptions {
  StoreRetryPolicy store_retry;
  std::function<int64_t()> now_ms;  // wall clock for status times; default wall_ms()
  // Steps kept per trial curve; later steps are still counted but not kept.
  size_t max_curve_points = 10000;
};

// Hard cap on trials when spec.maxTrialCount is not set (Katib has none; a random
// search over a continuous space would otherwise never end).
inline constexpr int32_t kMaxTrials = 100000;

class ExperimentStateMachine {
 public:
  // Fails when the stored spec no longer yields an algorithm (it did when applied).
  static Result<std::unique_ptr<ExperimentStateMachine>> Create(protocol::ExperimentStatus record,
                                                                spec::ExperimentSpec spec,
                                                                ExperimentMachineOptions options);

  // Exactly one of these starts the machine.
  ExperimentEffects create();
  // After a coordinator restart: `jobs` are the current summaries of the jobs this
  // experiment owns, `samples` the stored metric samples of each (by job name).
  ExperimentEffects restore(
      const std::map<std::string, protocol::JobStatus>& jobs,
      const std::map<std::string, std::vector<protocol::MetricSample>>& samples);

  ExperimentEffects on_job_created(const std::string& job, const Status& status);
  ExperimentEffects on_job_status(const protocol::JobStatus& job);
  // Samples the job's leader reported, in order.
  ExperimentEffects on_metrics(const std::string& job,
                               const std::vector<protocol::MetricSample>& samples);
  ExperimentEffects on_job_gone(const std::string& job);
  ExperimentEffects on_job_deleted(const std::string& job, const Status& status);
  ExperimentEffects on_delete(uint64_t request);
  ExperimentEffects on_stored(uint64_t seq, const Status& status);
  ExperimentEffects on_retry_timer();
  ExperimentEffects on_erased(const Status& status);

  const protocol::ExperimentStatus& record() const { return rec_; }
  const std::string& name() const { return rec_.name; }
  protocol::ExperimentStatus status() const { return rec_; }
  protocol::ExperimentStatus summary() const;  // without manifest and trials
  bool deleting() const { return deleting_; }

 private:
  ExperimentStateMachine(protocol::ExperimentStatus record, spec::ExperimentSpec spec,
                         ExperimentMachineOptions options,
                         std::unique_ptr<tuning::Suggester> suggester);

  struct CreateIfCurrent {  // the trial's current job is still `job`: create it
    size_t trial = 0;
    std::string job;
  };
  struct Publish {};
  using Deferred = std::variant<CreateIfCurrent, Publish>;

  using TrialStatus = protocol::TrialStatus;
  int64_t now() const { return options_.now_ms(); }
  TrialStatus* trial_of_job(const std::string& job);
  bool running(const TrialStatus& t) const { return t.phase == protocol::TrialPhase::kRunning; }
  int32_t running_count() const;
  int32_t failed_count() const;

  void persist(ExperimentEffects& out, std::vector<Deferred> then = {});
  void run_deferred(ExperimentEffects& out, const Deferred& d);
  void create_after_write(ExperimentEffects& out, size_t trial, const std::string& job);
  void event(ExperimentEffects& out, protocol::EventType type, const std::string& reason,
             const std::string& message);
  void set_phase(protocol::ExperimentPhase phase, const std::string& reason,
                 const std::string& message);

  // The algorithm's view of the trials.
  tuning::TrialHistory history() const;
  void fill(ExperimentEffects& out);
  bool start_trial(ExperimentEffects& out, const tuning::Suggestion& s);
  void promote(ExperimentEffects& out, TrialStatus& t, const tuning::Suggestion& s);
  // Folds samples into a running trial's metrics; false if the objective was not finite.
  bool absorb(TrialStatus& t, const std::vector<protocol::MetricSample>& samples);
  void end_trial(ExperimentEffects& out, TrialStatus& t, protocol::TrialPhase phase,
                 const std::string& reason, const std::string& message);
  void complete_trial(ExperimentEffects& out, TrialStatus& t);
  void finish(ExperimentEffects& out, protocol::ExperimentPhase phase, const std::string& reason,
              const std::string& message);
  void recount();
  bool meets_goal(double objective) const;
  void start_delete(ExperimentEffects& out);
  void maybe_erase(ExperimentEffects& out);

  protocol::ExperimentStatus rec_;
  spec::ExperimentSpec spec_;
  ExperimentMachineOptions options_;
  std::unique_ptr<tuning::Suggester> suggester_;
  std::optional<tuning::MedianStopOptions> median_;
  std::map<std::string, size_t> job_trial_;  // every job a trial ran as -> trial index
  std::map<size_t, int64_t> segment_steps_;  // running trial -> steps its current job reported
  bool deleting_ = false;
  bool erasing_ = false;
  std::set<std::string> creating_;       // CreateJob sent, on_job_created pending
  std::set<std::string> deleting_jobs_;  // delete requests not yet answered
  std::vector<uint64_t> delete_requests_;
  WriteBarrier<Deferred> writes_;
};

}  // namespace cadre::actors

// The supervisor of one RecurringRun as a pure state machine: events in, effects
// out, no CAF (STYLE.md §12); recurring_run_actor.cc is the thin shell.
//
// It starts a run of its pipeline each time its trigger is due, named
// <name>-<yyyymmddhhmmss> after the due time (UTC), as KFP's recurring runs do:
//   - due times come from the cron expression, or every intervalSecond from
//     startTime (or from one interval after it was applied), up to endTime;
//   - missed times (the coordinator was down, the schedule was disabled, runs were
//     at maxConcurrency) are started one after another, oldest first, unless
//     noCatchup: then only the latest missed time runs;
//   - at maxConcurrency unfinished runs it waits (and says so) until one ends.
// No double firing: a run's name is a function of its due time, so after a crash
// between starting a run and storing that it did, the same start is refused as
// AlreadyExists and counts as done. Deleting it stops the schedule; its runs stay.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pipelines/cron_schedule.h"
#include "protocol/messages.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/status.h"

namespace cadre::actors {

namespace recurring_run_effect {
struct Persist {};         // write record() (a lost write only repeats an AlreadyExists start)
struct PublishSummary {};  // the manager's list gets summary()
struct RecordEvent {
  protocol::JobEvent event;
};
struct CountActive {};  // how many of its runs have not finished; answer with on_active
struct StartRun {       // apply this PipelineRun; answer with on_run_started
  std::string run;
  std::string yaml;
  int64_t scheduled_ms = 0;
};
struct StartTimer {  // call on_timer after this long
  std::chrono::milliseconds after{0};
};
struct EraseRecord {};  // delete it from the store; answer with on_erased
struct AnswerDelete {
  std::vector<uint64_t> requests;
  Status status;
};
struct Stop {};  // gone: the shell tells the manager and quits
}  // namespace recurring_run_effect

using RecurringRunEffect =
    std::variant<recurring_run_effect::Persist, recurring_run_effect::PublishSummary,
                 recurring_run_effect::RecordEvent, recurring_run_effect::CountActive,
                 recurring_run_effect::StartRun, recurring_run_effect::StartTimer,
                 recurring_run_effect::EraseRecord, recurring_run_effect::AnswerDelete,
                 recurring_run_effect::Stop>;
using RecurringRunEffects = std::vector<RecurringRunEffect>;

struct RecurringRunMachineOptions {
  std::function<int64_t()> now_ms;  // wall clock; default wall_ms()
  // While at maxConcurrency, or after a start the manager could not answer: look again.
  std::chrono::milliseconds recheck = std::chrono::seconds(1);
  // The longest a timer is set for: a clock that jumps is noticed within this.
  std::chrono::milliseconds max_sleep = std::chrono::minutes(10);
};

class RecurringRunStateMachine {
 public:
  static Result<std::unique_ptr<RecurringRunStateMachine>> Create(
      protocol::RecurringRunStatus record, std::shared_ptr<const spec::RecurringRunSpec> spec,
      RecurringRunMachineOptions options);
  // The first record of a newly applied one.
  static protocol::RecurringRunStatus first_record(const spec::RecurringRunSpec& spec,
                                                   const std::string& name, const std::string& ns,
                                                   const std::string& manifest, int64_t now_ms);

  RecurringRunEffects start();  // just created, or restored after a restart
  RecurringRunEffects on_timer();
  RecurringRunEffects on_active(int32_t unfinished_runs);
  RecurringRunEffects on_run_started(const std::string& run, const Status& status);
  // A changed spec applied (cadre apply): its schedule from now on; what it started stays.
  RecurringRunEffects on_update(std::shared_ptr<const spec::RecurringRunSpec> spec,
                                const std::string& manifest);
  RecurringRunEffects on_delete(uint64_t request);
  RecurringRunEffects on_erased(const Status& status);

  const protocol::RecurringRunStatus& record() const { return rec_; }
  const std::string& name() const { return rec_.name; }
  protocol::RecurringRunStatus summary() const;  // without manifest and events

  // The first due time strictly after `after_ms`, within startTime and endTime.
  std::optional<int64_t> next_due_after(int64_t after_ms) const;
  // The PipelineRun a due time starts.
  std::string run_name(int64_t scheduled_ms) const;
  std::string render_run(const std::string& run) const;

 private:
  RecurringRunStateMachine(protocol::RecurringRunStatus record,
                           std::shared_ptr<const spec::RecurringRunSpec> spec,
                           std::optional<pipelines::CronSchedule> cron,
                           RecurringRunMachineOptions options);
  int64_t now() const { return options_.now_ms(); }
  // The time to start a run for now, if one is due.
  std::optional<int64_t> due(int64_t now_ms) const;
  void tick(RecurringRunEffects& out);
  void arm_timer(RecurringRunEffects& out, int64_t at_ms);
  void event(RecurringRunEffects& out, protocol::EventType type, const std::string& reason,
             const std::string& message);

  protocol::RecurringRunStatus rec_;
  std::shared_ptr<const spec::RecurringRunSpec> spec_;
  std::optional<pipelines::CronSchedule> cron_;
  RecurringRunMachineOptions options_;
  std::optional<int64_t> starting_;  // the due time being started (counting, then applying)
  std::optional<int64_t> timer_at_;
  bool deleting_ = false;
  std::vector<uint64_t> delete_requests_;
};

}  // namespace cadre::actors

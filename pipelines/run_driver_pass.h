// One call's work over a run's record (RunDriver's private helper, shared by
// run_driver.cc, which handles what happened to the run's jobs, and
// run_driver_dag.cc, which walks its DAG forward). Not for other includes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipelines/run_driver.h"

namespace cadre::pipelines {

// One call's work over the record: the task index, the actions gathered, and
// whether the run has a failed task (fail fast).
class RunDriver::Pass {
 public:
  using json = nlohmann::json;
  using PipelineArtifact = protocol::PipelineArtifact;
  using PipelineRunStatus = protocol::PipelineRunStatus;
  using PipelineState = protocol::PipelineState;
  using PipelineTaskKind = protocol::PipelineTaskKind;
  using PipelineTaskStatus = protocol::PipelineTaskStatus;

  Pass(const RunDriver& driver, PipelineRunStatus& run, int64_t now)
      : d_(driver), spec_(*driver.spec_), run_(run), now_(now) {
    for (size_t i = 0; i < run_.tasks.size(); ++i) {
      index_[run_.tasks[i].id] = i;
      if (run_.tasks[i].state == PipelineState::kFailed) failing_ = true;
    }
  }

  DriverActions finish();

  void change() { actions_.changed = true; }
  DriverActions& actions() { return actions_; }
  PipelineTaskStatus* find(const std::string& id);

  void run_forward();

  void job_finished(const std::string& job, bool succeeded, const std::string& message,
                    const json& reported);

  void outputs_read(const std::string& task_id, const TaskOutputFiles& files);

  // The finite numbers of the step's Metrics artifacts under names its job did not
  // report itself (a printed series keeps its own history; the artifact's copy of
  // those stays in the artifact). Workloads other than jobs have no series.
  StepMetrics logged_metrics(const PipelineTaskStatus& t) const;

  // For a retry: forgets every task that did not succeed (a task skipped by its
  // condition stays skipped), and every task downstream of a forgotten one with
  // all that it holds (an exit handler runs again after what it guards). Succeeded
  // steps inside a forgotten DAG are kept: when the DAG runs again they are found
  // and not run twice. Returns how many tasks were forgotten.
  int32_t forget_unfinished_work();

  void cancel_all(const std::string& why);

 private:
  struct Scope {
    std::string prefix;  // "" at the root, "<id>/" below
    const spec::Component* component = nullptr;
    json inputs = json::object();
    std::vector<PipelineArtifact> artifacts;
    std::optional<size_t> record;  // the DAG or iteration record; none for the root
  };

  Scope root_scope();

  Scope scope_of(size_t i);

  const spec::PipelineTask* task_spec(const PipelineTaskStatus& t);

  size_t add(PipelineTaskStatus t);

  void fail(PipelineTaskStatus& t, const std::string& message);

  PipelineTaskStatus skeleton(const Scope& scope, const std::string& name,
                              const spec::PipelineTask& task);

  bool process_scope(const Scope& scope);

  // The tasks of the same DAG this one waits for: dependentTasks and producers.
  static std::vector<std::string> upstream_of(const spec::PipelineTask& task);

  // Records a task that ends before it starts (skipped, or failed: then the run
  // fails fast); true, as trigger() says it made a record.
  bool settle(PipelineTaskStatus t, PipelineState state, std::string message);

  // Whether the task may start: nullopt while an upstream task has not finished,
  // "" when it may, else why it is skipped. A task that runs anyway (an exit
  // handler: allUpstreamTasksCompleted) waits for its upstream and then starts.
  std::optional<std::string> upstream_verdict(const Scope& scope,
                                              const std::vector<std::string>& upstream,
                                              bool runs_anyway);

  // Creates the task's record if its time has come; true if it did.
  bool trigger(const Scope& scope, const std::string& name, const spec::PipelineTask& task);

  // A task whose inputs are resolved: a loop gets its items, a DAG opens, a step is
  // answered from the cache or its job is started.
  void begin(PipelineTaskStatus t, const spec::PipelineTask& task, const json& parameters);

  // Names the task's next job in the record and asks for it to be created.
  void start_job(size_t i);

  void start_due_retries();

  void finish_scope(const Scope& scope);

  bool process_loop(size_t i);

  // The steps a component would run: 1 for a container, every step of its DAG for a
  // DAG (a loop's body counted once: its items are known only when it runs).
  int32_t steps_in(const spec::Component& component) const;

  void recount();

  const RunDriver& d_;
  const spec::PipelineSpec& spec_;
  PipelineRunStatus& run_;
  int64_t now_;
  std::map<std::string, size_t> index_;
  bool failing_ = false;
  DriverActions actions_;
};

}  // namespace cadre::pipelines

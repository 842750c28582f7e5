// The commands about pipelines and their runs: start a run (cadre run
// pipeline/NAME -p k=v), wait for a run's state, and find a task's job for logs.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/coordinator.h"
#include "client/resource_ref.h"
#include "protocol/status.h"

namespace cadre::client {

struct RunOptions {
  std::string pipeline;
  std::vector<std::string> parameters;  // "name=value", as -p gives them
  std::string name;                     // empty: <pipeline>-<8 random hex digits>
  std::string experiment;               // empty: Default
  std::optional<int32_t> version;       // empty: the latest
  bool no_cache = false;
  std::string ns;  // empty: default
};

// The PipelineRun manifest `cadre run` applies (also shown by --dry-run).
Result<std::string> render_run_manifest(const RunOptions& options);

// Applies the run; prints "run/NAME created".
Status start_run(Coordinator& coordinator, const RunOptions& options, std::ostream& out);

// A state a run can be waited for (any case, also as condition=NAME); not Skipped.
Result<protocol::PipelineState> parse_run_state(const std::string& state);

// Ok once the run is in `state` (SUCCEEDED, FAILED, CANCELED, RUNNING, any case);
// an error naming the state and message when it ends in another, or time runs out.
Status wait_for_run(Coordinator& coordinator, const std::string& name, const std::string& state,
                    std::chrono::milliseconds timeout,
                    std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200));

// `cadre compare runs R1 R2 ...`: the runs side by side (table or JSON).
Status compare_runs(Coordinator& coordinator, const std::vector<std::string>& names, bool json,
                    std::ostream& out);

// The model URI an InferenceService's rolled-out revision serves (for `cadre lineage
// isvc/NAME`); says which on `out` first.
Result<std::string> served_model_uri(Coordinator& coordinator, const std::string& service,
                                     std::ostream& out);

// `cadre lineage artifact/URI`: reads every run, then walks (lineage.h).
Status print_lineage(Coordinator& coordinator, const std::string& uri, bool downstream, int depth,
                     bool json, std::ostream& out);

// Retries a FAILED run from its failed steps; prints "run/NAME retried (N tasks run again)".
Status retry_run(Coordinator& coordinator, const std::string& name, std::ostream& out);

// The job or trainjob of a run's task (its logs' resource), named by its id
// ("condition-1/print-msg") or, when that is unique, its name ("print-msg").
Result<ResourceRef> run_task_job(Coordinator& coordinator, const std::string& run,
                                 const std::string& task);

}  // namespace cadre::client

// Human and JSON output for pipelines and their runs: `get pipelines`, `get runs`,
// `describe pipeline`, `describe run` (the DAG as an indented tree, as KFP's run
// graph shows it) and `get runs -o json`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cadre::client {

// What a step ran, as `cadre describe` takes it: "job/r-3", "trainjob/r-4",
// "experiment/r-2", "inferenceservice/fmnist"; "" before it started anything.
// A run recorded before steps kept their workload's kind names a Job's or
// TrainJob's as "job/NAME".
std::string step_workload_ref(const protocol::PipelineTaskStatus& task);

// NAME VERSION PARAMETERS AGE.
std::string pipelines_table(const std::vector<protocol::PipelineInfo>& pipelines, int64_t now_ms);
// NAME PIPELINE EXPERIMENT STATE STEPS AGE DURATION (+ CACHED SKIPPED MESSAGE when wide).
std::string runs_table(const std::vector<protocol::PipelineRunStatus>& runs, int64_t now_ms,
                       bool wide);

nlohmann::json pipeline_to_json(const protocol::PipelineInfo& pipeline, bool detail);
nlohmann::json run_to_json(const protocol::PipelineRunStatus& run, bool detail);
nlohmann::json runs_to_json(const std::vector<protocol::PipelineRunStatus>& runs);

// KFP's Compare Runs page as text: one column per run, one row per parameter,
// output and metric (a system.Metrics artifact's numeric metadata, as
// "<task>.<name>"), then state, steps and duration. A value a run lacks is "-".
std::string compare_runs_table(const std::vector<protocol::PipelineRunStatus>& runs,
                               int64_t now_ms);
nlohmann::json compare_runs_json(const std::vector<protocol::PipelineRunStatus>& runs);

std::string describe_pipeline(const protocol::PipelineInfo& pipeline, int64_t now_ms);
// Run fields, parameters and outputs, then every task as a tree (state, duration,
// cached, attempts, outputs, why it failed or was skipped), then events.
std::string describe_run(const protocol::PipelineRunStatus& run, int64_t now_ms);

}  // namespace cadre::client

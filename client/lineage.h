// `cadre lineage artifact/URI`: which run, step and inputs produced an artifact
// (--upstream), or what consumed it (--downstream), walked over the stored runs'
// records — each step's input and output artifacts (by URI) and the steps it
// waited for (PipelineTaskStatus.upstream) — as ML Metadata's events do for KFP.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::client {

struct LineageOptions {
  bool downstream = false;  // default: upstream
  int depth = 10;           // steps away from the artifact
};

// The walk as JSON: {artifact, direction, executions[{run, task, component, state,
// job, workload ("trainjob/NAME", as describe takes it), cached, cachedFrom,
// parameters, outputs, runParameters, inputArtifacts[],
// outputArtifacts[]}], edges[{from, to, artifact}]}. NotFound when no run produced
// or used the URI.
Result<nlohmann::json> lineage_json(const std::vector<protocol::PipelineRunStatus>& runs,
                                    const std::string& uri, const LineageOptions& options);

// The same walk as an indented tree.
Result<std::string> lineage_text(const std::vector<protocol::PipelineRunStatus>& runs,
                                 const std::string& uri, const LineageOptions& options);

}  // namespace cadre::client

// Human output: kubectl-like tables for `get` and the page for `describe`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace cadre::client {

// Left-aligned columns separated by three spaces; an empty cell prints as "-"
// and no line has trailing spaces.
std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

// NAME STATE CPU MEMORY GPUS HEARTBEAT (+ ADDRESS EPOCH LABELS when wide). CPU,
// MEMORY and GPUS read "allocated/allocatable".
std::string nodes_table(const std::vector<protocol::NodeStatus>& nodes, int64_t now_ms, bool wide);

// NAME KIND PHASE REASON EXIT NODE AGE (+ REPLICA DURATION METRICS MESSAGE when wide).
std::string jobs_table(const std::vector<protocol::JobStatus>& jobs, int64_t now_ms, bool wide);

// "accuracy=0.5 loss=0.31", by name.
std::string format_metrics(const std::map<std::string, double>& metrics);

// The `describe job` page: status fields, times, metrics, manifest, events.
std::string describe_job(const protocol::JobStatus& job, int64_t now_ms);

}  // namespace cadre::client

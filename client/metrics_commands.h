// `cadre metrics job/NAME`: a job's stored metric history, one row per point.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "client/coordinator.h"
#include "client/resource_ref.h"

namespace cadre::client {

struct MetricsOptions {
  ResourceRef ref;             // job/NAME or trainjob/NAME
  std::string metric;          // only this one; empty: every metric
  int64_t max_points = 10000;  // the newest this many
  bool json = false;           // one JSON document instead of the table
};

// STEP METRIC VALUE REPLICA TIME, oldest first, and a last line saying so when
// older points were left out; or, with json,
// {job, truncated, points: [{replica, name, value, step, time}]} (value null for NaN).
Status print_metrics(Coordinator& coordinator, const MetricsOptions& options, std::ostream& out);

}  // namespace cadre::client

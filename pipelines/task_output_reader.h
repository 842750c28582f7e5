// Reads what a pipeline step wrote into its folder: its output parameter files
// (<dir>/parameters/<name>) and executor_output.json. The folder belongs to the
// step's user, so nothing in it is trusted: no path component may be a symlink
// (the coordinator must not be steered into reading its own files), only regular
// files are read, and each within a size bound checked before it is read.
#pragma once

#include <cstddef>

#include "pipelines/run_driver.h"

namespace cadre::pipelines {

struct OutputReadLimits {
  size_t max_parameter_bytes = size_t{1} << 20;        // one output parameter file
  size_t max_executor_output_bytes = size_t{4} << 20;  // executor_output.json
};

// Missing files are left out (the driver says which output was not written); a
// file that cannot be read safely sets `error`.
TaskOutputFiles read_task_outputs(const OutputRead& read, const OutputReadLimits& limits = {});

}  // namespace cadre::pipelines

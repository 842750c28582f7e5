// `cadre notebook stop|start NAME`, `cadre wait notebook/NAME`, and where a
// notebook's log is (docs/notebooks.md).
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "client/coordinator.h"
#include "protocol/status.h"

namespace cadre::client {

// The notebook's applied manifest with spec.stopped set to `stopped`; an error
// naming what is wrong when the manifest is not a Notebook's.
Result<std::string> with_stopped(const std::string& manifest, bool stopped);

// Stops (keeping its workspace) or starts a notebook: its manifest applied again
// with spec.stopped changed, as Kubeflow's stop annotation does.
Status set_notebook_stopped(Coordinator& coordinator, const std::string& name, bool stopped,
                            std::ostream& out);

// Ok once the notebook is in `state` (Running, Stopped, Pending); an error with its
// reason and message when time runs out.
Status wait_for_notebook(Coordinator& coordinator, const std::string& name,
                         const std::string& state, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200));

// The job that runs the notebook's server now (its log is the server's).
Result<std::string> notebook_job(Coordinator& coordinator, const std::string& name);

}  // namespace cadre::client

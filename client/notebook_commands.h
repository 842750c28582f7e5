// `cadre notebook open|stop|start NAME`, `cadre wait notebook/NAME`, and where a
// notebook's log is (docs/notebooks.md).
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "client/coordinator.h"
#include "protocol/status.h"

namespace cadre::client {

// Stops (keeping its workspace) or starts a notebook: its manifest applied again
// with spec.stopped changed, as Kubeflow's stop annotation does.
Status set_notebook_stopped(Coordinator& coordinator, const std::string& name, bool stopped,
                            std::ostream& out);

// Prints the notebook's URL and a one-time login link for a browser: the link
// opens a session for the notebook's namespace once, within 5 minutes.
Status open_notebook(Coordinator& coordinator, const std::string& name, std::ostream& out);

// A phase a notebook can be waited for (any case, also as condition=NAME; Ready
// means Running).
Result<protocol::NotebookPhase> parse_notebook_state(const std::string& state);

// Ok once the notebook is in `state` (Running, Stopped, Pending); an error with its
// reason and message when time runs out.
Status wait_for_notebook(Coordinator& coordinator, const std::string& name,
                         const std::string& state, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200));

// The job that runs the notebook's server now (its log is the server's).
Result<std::string> notebook_job(Coordinator& coordinator, const std::string& name);

}  // namespace cadre::client

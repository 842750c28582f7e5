// The `Notebook` kind, shaped after Kubeflow's Notebook: a Jupyter server run as a
// long-lived replica with the resources asked for, a workspace folder on its node
// that outlives stops and restarts, optional idle culling, and `stopped` (Kubeflow's
// stop annotation as a field). docs/notebooks.md documents every field; the
// notebook supervisor (actors/notebook_state_machine.h) runs it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/spec/job_spec.h"
#include "protocol/status.h"

namespace cadre::spec {

// Notebook names are at most this long: each start is a job `<name>-<k>`.
inline constexpr size_t kMaxNotebookName = 48;

// What runs when spec.template.command is not given: Debian's jupyter-notebook.
inline constexpr const char* kDefaultNotebookCommand = "jupyter-notebook";

struct NotebookSpec {
  ObjectMeta metadata;
  // spec.template: command (default jupyter-notebook), args, env, workingDir
  // (default: the workspace), resources.
  ReplicaTemplate replica;
  bool default_command = true;  // the template gave no command: Cadre's Jupyter flags apply
  // spec.workspace.path: an absolute folder on the node; empty: the notebook's own
  // folder under the checkpoint root (<root>/<namespace>/_notebooks/<name>).
  std::string workspace_path;
  std::optional<int64_t> idle_culling_minutes;  // unset: never culled (Kubeflow's default)
  bool stopped = false;
};

// A Notebook's manifest with spec.stopped set to `stopped` (how `cadre notebook
// stop|start` and the culler stop and start one); an error naming what is wrong
// when the text is not a Notebook's manifest.
Result<std::string> notebook_manifest_with_stopped(const std::string& manifest, bool stopped);

}  // namespace cadre::spec

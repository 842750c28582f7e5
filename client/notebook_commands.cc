#include "client/notebook_commands.h"

#include <yaml-cpp/yaml.h>

#include <thread>

#include "client/resource_ref.h"
#include "protocol/string_enum.h"

namespace cadre::client {
namespace {

using Clock = std::chrono::steady_clock;

Result<protocol::NotebookStatus> get_notebook(Coordinator& coordinator, const std::string& name) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"notebooks", name}));
  if (reply.notebooks.empty()) return NotFound("notebook/" + name + " not found");
  return reply.notebooks[0];
}

}  // namespace

Result<std::string> with_stopped(const std::string& manifest, bool stopped) {
  try {
    YAML::Node root = YAML::Load(manifest);
    if (!root.IsMap() || root["kind"].as<std::string>("") != "Notebook" || !root["spec"] ||
        !root["spec"].IsMap()) {
      return InvalidArgument("the stored manifest is not a Notebook's");
    }
    root["spec"]["stopped"] = stopped;
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("the stored manifest does not parse: ") + e.what());
  }
}

Status set_notebook_stopped(Coordinator& coordinator, const std::string& name, bool stopped,
                            std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::NotebookStatus notebook, get_notebook(coordinator, name));
  ASSIGN_OR_RETURN(std::string manifest, with_stopped(notebook.manifest, stopped));
  ASSIGN_OR_RETURN(protocol::ApplyReply reply, coordinator.apply(protocol::ApplyRequest{manifest}));
  const bool changed = reply.action != "unchanged";
  out << "notebook/" << name << " "
      << (stopped ? (changed ? "stopping (its workspace is kept)" : "already stopped")
                  : (changed ? "starting" : "already started"))
      << "\n";
  return Status::Ok();
}

Status wait_for_notebook(Coordinator& coordinator, const std::string& name,
                         const std::string& state, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds poll_interval) {
  std::string wanted_text = state;
  const std::string prefix = "condition=";
  if (lowercase(wanted_text).rfind(prefix, 0) == 0) wanted_text = wanted_text.substr(prefix.size());
  if (lowercase(wanted_text) == "ready") wanted_text = "Running";
  std::optional<protocol::NotebookPhase> wanted;
  for (const auto& [phase, text] : protocol::EnumNames<protocol::NotebookPhase>::kTable) {
    if (lowercase(wanted_text) == lowercase(std::string(text))) wanted = phase;
  }
  if (!wanted) {
    return InvalidArgument("--for '" + state +
                           "': a notebook waits for Running (or Ready), Stopped, Stopping or "
                           "Pending");
  }
  const auto deadline = Clock::now() + timeout;
  while (true) {
    ASSIGN_OR_RETURN(protocol::NotebookStatus n, get_notebook(coordinator, name));
    if (n.phase == *wanted) return Status::Ok();
    const auto now = Clock::now();
    if (now >= deadline) {
      std::string why(protocol::enum_name(n.phase));
      if (!n.reason.empty()) why += ", " + n.reason;
      if (!n.message.empty()) why += ": " + n.message;
      return DeadlineExceeded("timed out waiting for notebook/" + name + " to be " +
                              protocol::to_string(*wanted) + " (" + why + ")");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(poll_interval, deadline - now));
  }
}

Result<std::string> notebook_job(Coordinator& coordinator, const std::string& name) {
  ASSIGN_OR_RETURN(protocol::NotebookStatus n, get_notebook(coordinator, name));
  if (n.job.empty()) {
    return FailedPrecondition("notebook/" + name + " is " +
                              std::string(protocol::enum_name(n.phase)) +
                              ": no server runs (cadre notebook start " + name + ")");
  }
  return n.job;
}

}  // namespace cadre::client

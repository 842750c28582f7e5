#include "client/notebook_commands.h"

#include <yaml-cpp/yaml.h>

#include <thread>

#include "client/resource_ref.h"
#include "protocol/spec/notebook_spec.h"
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

Status set_notebook_stopped(Coordinator& coordinator, const std::string& name, bool stopped,
                            std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::NotebookStatus notebook, get_notebook(coordinator, name));
  ASSIGN_OR_RETURN(std::string manifest,
                   spec::notebook_manifest_with_stopped(notebook.manifest, stopped));
  ASSIGN_OR_RETURN(protocol::ApplyReply reply, coordinator.apply(protocol::ApplyRequest{manifest}));
  const bool changed = reply.action != "unchanged";
  out << "notebook/" << name << " "
      << (stopped ? (changed ? "stopping (its workspace is kept)" : "already stopped")
                  : (changed ? "starting" : "already started"))
      << "\n";
  return Status::Ok();
}

Status open_notebook(Coordinator& coordinator, const std::string& name, std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::NotebookStatus notebook, get_notebook(coordinator, name));
  if (notebook.url.empty()) {
    return FailedPrecondition(
        "no cadre-ingress has reached the coordinator yet: notebooks are "
        "opened through it (cadre local up starts one)");
  }
  protocol::TokenCreateRequest request;
  request.ns = notebook.ns;
  request.description = "cadre notebook open " + name;
  request.login_code = true;
  ASSIGN_OR_RETURN(protocol::TokenCreateReply code, coordinator.create_token(request));
  // The URL's origin is the ingress's: <origin>/notebook/<ns>/<name>/.
  const std::string base = "/notebook/" + notebook.ns + "/" + name + "/";
  const bool ends_in_base =
      notebook.url.size() >= base.size() &&
      notebook.url.compare(notebook.url.size() - base.size(), base.size(), base) == 0;
  const std::string origin =
      ends_in_base ? notebook.url.substr(0, notebook.url.size() - base.size()) : notebook.url;
  out << notebook.url << "\n";
  out << "Log in (once, within 5 minutes): " << origin << "/login?code=" << code.token
      << "&next=" << base << "\n";
  if (notebook.phase != protocol::NotebookPhase::kRunning) {
    out << "notebook/" << name << " is " << protocol::enum_name(notebook.phase)
        << (notebook.phase == protocol::NotebookPhase::kStopped
                ? ": cadre notebook start " + name + " starts it"
                : "")
        << "\n";
  }
  return Status::Ok();
}

Result<protocol::NotebookPhase> parse_notebook_state(const std::string& state) {
  std::string wanted = lowercase(strip_condition_prefix(state));
  if (wanted == "ready") wanted = "running";
  for (const auto& [phase, text] : protocol::EnumNames<protocol::NotebookPhase>::kTable) {
    if (wanted == lowercase(std::string(text))) return phase;
  }
  return InvalidArgument("--for '" + state +
                         "': a notebook waits for Running (or Ready), Stopped, Stopping or "
                         "Pending");
}

Status wait_for_notebook(Coordinator& coordinator, const std::string& name,
                         const std::string& state, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds poll_interval) {
  ASSIGN_OR_RETURN(const protocol::NotebookPhase wanted, parse_notebook_state(state));
  const auto deadline = Clock::now() + timeout;
  while (true) {
    ASSIGN_OR_RETURN(protocol::NotebookStatus n, get_notebook(coordinator, name));
    if (n.phase == wanted) return Status::Ok();
    const auto now = Clock::now();
    if (now >= deadline) {
      std::string why(protocol::enum_name(n.phase));
      if (!n.reason.empty()) why += ", " + n.reason;
      if (!n.message.empty()) why += ": " + n.message;
      return DeadlineExceeded("timed out waiting for notebook/" + name + " to be " +
                              protocol::to_string(wanted) + " (" + why + ")");
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

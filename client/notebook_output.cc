#include "client/notebook_output.h"

#include <sstream>

#include "client/table_output.h"
#include "client/time_format.h"
#include "protocol/string_enum.h"

namespace cadre::client {

using nlohmann::json;

namespace {

std::string gpus_text(const protocol::NotebookStatus& n) {
  if (n.gpus == 0) return "0";
  if (n.gpu_indices.empty()) return std::to_string(n.gpus);
  std::string out;
  for (int32_t g : n.gpu_indices) out += (out.empty() ? "" : ",") + std::to_string(g);
  return std::to_string(n.gpus) + " (" + out + ")";
}

// How long no activity was seen; "-" until the ingress reports any.
std::string idle_text(const protocol::NotebookStatus& n, int64_t now_ms) {
  if (n.phase != protocol::NotebookPhase::kRunning || n.last_activity_ms == 0) return "-";
  return format_age(now_ms - n.last_activity_ms);
}

std::string state_text(const protocol::NotebookStatus& n) {
  std::string state(protocol::enum_name(n.phase));
  if (!n.reason.empty() && n.reason != state) state += " (" + n.reason + ")";
  return state;
}

}  // namespace

std::string notebooks_table(const std::vector<protocol::NotebookStatus>& notebooks,
                            int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : notebooks) {
    rows.push_back({n.name, state_text(n), n.node, gpus_text(n), n.url, idle_text(n, now_ms),
                    age_since(n.created_ms, now_ms)});
  }
  return render_table({"NAME", "STATE", "NODE", "GPUS", "URL", "IDLE", "AGE"}, rows);
}

json notebook_to_json(const protocol::NotebookStatus& n) {
  json out = {
      {"name", n.name},
      {"namespace", n.ns},
      {"state", protocol::enum_name(n.phase)},
      {"reason", n.reason},
      {"message", n.message},
      {"ready", n.ready},
      {"url", n.url},
      {"node", n.node},
      {"address", n.address},
      {"port", n.port},
      {"gpus", n.gpus},
      {"gpuIndices", n.gpu_indices},
      {"workspace", n.workspace},
      {"job", n.job},
      {"restarts", n.restarts},
      {"idleCullingMinutes", n.idle_culling_minutes ? json(*n.idle_culling_minutes) : json()},
      {"lastActivity", n.last_activity_ms ? json(rfc3339(n.last_activity_ms)) : json()},
      {"createdAt", rfc3339_ms(n.created_ms)},
      {"startedAt", n.started_ms ? json(rfc3339(n.started_ms)) : json()},
      {"stoppedAt", n.stopped_ms ? json(rfc3339(n.stopped_ms)) : json()}};
  return out;
}

std::string describe_notebook(const protocol::NotebookStatus& n, int64_t now_ms) {
  std::ostringstream out;
  out << "Name:          " << n.name << "\n";
  out << "Namespace:     " << n.ns << "\n";
  out << "State:         " << state_text(n) << "\n";
  if (!n.message.empty()) out << "Message:       " << n.message << "\n";
  out << "Node:          " << (n.node.empty() ? "- (not placed yet)" : n.node) << "\n";
  out << "Workspace:     " << n.workspace << (n.node.empty() ? "" : " on " + n.node) << "\n";
  if (n.port != 0) out << "Server:        " << n.address << ":" << n.port << "\n";
  out << "URL:           " << (n.url.empty() ? "-" : n.url) << "\n";
  out << "GPUs:          " << gpus_text(n) << "\n";
  out << "Job:           " << (n.job.empty() ? "-" : "job/" + n.job) << "\n";
  out << "Restarts:      " << n.restarts << "\n";
  out << "Idle culling:  "
      << (n.idle_culling_minutes ? "after " + std::to_string(*n.idle_culling_minutes) + " min idle"
                                 : "off")
      << "\n";
  out << "Created:       " << rfc3339(n.created_ms) << " (" << age_since(n.created_ms, now_ms)
      << " ago)\n";
  if (n.started_ms) {
    out << "Started:       " << rfc3339(n.started_ms) << " (" << age_since(n.started_ms, now_ms)
        << " ago)\n";
  }
  if (n.stopped_ms) out << "Last stopped:  " << rfc3339(n.stopped_ms) << "\n";
  out << events_section(n.events, now_ms);
  return out.str();
}

}  // namespace cadre::client

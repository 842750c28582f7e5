#include "client/metrics_commands.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "client/table_output.h"
#include "protocol/wall_clock.h"

namespace cadre::client {

Status print_metrics(Coordinator& coordinator, const MetricsOptions& options, std::ostream& out) {
  protocol::MetricsHistoryRequest request{options.ref.type.resource, options.ref.name,
                                          options.metric, options.max_points};
  ASSIGN_OR_RETURN(protocol::MetricsHistoryReply reply, coordinator.metrics_history(request));
  if (options.json) {
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : reply.points) {
      // JSON has no NaN: a NaN the job printed reads as null.
      nlohmann::json value = std::isfinite(p.value) ? nlohmann::json(p.value) : nlohmann::json();
      points.push_back({{"replica", p.replica},
                        {"name", p.name},
                        {"value", value},
                        {"step", p.step},
                        {"time", utc_text(p.time_ms)}});
    }
    out << nlohmann::json{{"job", reply.name}, {"truncated", reply.truncated}, {"points", points}}
               .dump(2)
        << "\n";
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : reply.points) {
    rows.push_back({std::to_string(p.step), p.name, format_number(p.value),
                    instance_label(reply.name, p.replica), utc_text(p.time_ms)});
  }
  if (rows.empty()) {
    out << "No metrics reported by " << options.ref.display() << " yet.\n";
    return Status::Ok();
  }
  out << render_table({"STEP", "METRIC", "VALUE", "REPLICA", "TIME"}, rows);
  if (reply.truncated) {
    out << "(only the newest " << reply.points.size() << " points; --max-points for more)\n";
  }
  return Status::Ok();
}

}  // namespace cadre::client

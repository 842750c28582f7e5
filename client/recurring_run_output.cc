#include "client/recurring_run_output.h"

#include <sstream>

#include "client/table_output.h"
#include "client/time_format.h"
#include "protocol/string_enum.h"

namespace cadre::client {

using nlohmann::json;

namespace {

// "in 5m", "2s ago", or "-" when it is not due again.
std::string due_text(int64_t at_ms, int64_t now_ms) {
  if (at_ms == 0) return "-";
  return at_ms >= now_ms ? "in " + format_age(at_ms - now_ms) : format_age(now_ms - at_ms) + " ago";
}

}  // namespace

std::string recurring_runs_table(const std::vector<protocol::RecurringRunStatus>& recurring,
                                 int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : recurring) {
    rows.push_back({r.name, r.pipeline, r.trigger, r.enabled ? "ENABLE" : "DISABLE",
                    std::to_string(r.runs_started), r.last_run.empty() ? "-" : r.last_run,
                    r.enabled ? due_text(r.next_ms, now_ms) : "-",
                    age_since(r.created_ms, now_ms)});
  }
  return render_table({"NAME", "PIPELINE", "TRIGGER", "MODE", "RUNS", "LAST RUN", "NEXT", "AGE"},
                      rows);
}

json recurring_run_to_json(const protocol::RecurringRunStatus& r) {
  json out = {
      {"name", r.name},
      {"namespace", r.ns},
      {"pipeline", r.pipeline},
      {"trigger", r.trigger},
      {"mode", r.enabled ? "ENABLE" : "DISABLE"},
      {"maxConcurrency", r.max_concurrency},
      {"noCatchup", r.no_catchup},
      {"runsStarted", r.runs_started},
      {"lastRun", r.last_run},
      {"message", r.message},
      {"createdAt", rfc3339_ms(r.created_ms)},
      {"lastScheduledAt", r.last_scheduled_ms ? json(rfc3339(r.last_scheduled_ms)) : json()},
      {"nextAt", r.enabled && r.next_ms ? json(rfc3339(r.next_ms)) : json()}};
  return out;
}

std::string describe_recurring_run(const protocol::RecurringRunStatus& r, int64_t now_ms) {
  std::ostringstream out;
  out << "Name:            " << r.name << "\n";
  out << "Namespace:       " << r.ns << "\n";
  out << "Pipeline:        " << r.pipeline << "\n";
  out << "Trigger:         " << r.trigger << " (UTC)\n";
  out << "Mode:            " << (r.enabled ? "ENABLE" : "DISABLE") << "\n";
  out << "Max concurrency: " << r.max_concurrency << (r.no_catchup ? ", no catch-up" : "") << "\n";
  out << "Runs started:    " << r.runs_started
      << (r.last_run.empty() ? "" : " (latest run/" + r.last_run + ")") << "\n";
  if (r.last_scheduled_ms) {
    out << "Last due:        " << rfc3339(r.last_scheduled_ms) << "\n";
  }
  if (r.enabled && r.next_ms) {
    out << "Next due:        " << rfc3339(r.next_ms) << " (" << due_text(r.next_ms, now_ms)
        << ")\n";
  }
  if (!r.message.empty()) out << "Message:         " << r.message << "\n";
  out << "Created:         " << rfc3339(r.created_ms) << " (" << age_since(r.created_ms, now_ms)
      << " ago)\n";
  out << events_section(r.events, now_ms);
  return out.str();
}

}  // namespace cadre::client

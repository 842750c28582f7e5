#include "client/table_output.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "client/time_format.h"

namespace cadre::client {
namespace {

std::string cell(const std::string& text) { return text.empty() ? "-" : text; }

std::string format_number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

std::string join_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [key, value] : labels) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

// "Completed 2m ago" style line for describe: the RFC 3339 time and its age.
std::string when(int64_t unix_ms, int64_t now_ms) {
  if (unix_ms <= 0) return "-";
  return rfc3339(unix_ms) + " (" + age_since(unix_ms, now_ms) + " ago)";
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) out += prefix + line + "\n";
  return out;
}

}  // namespace

std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], cell(row[i]).size());
    }
  };
  measure(headers);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string text = i < row.size() ? cell(row[i]) : "-";
      line += text;
      if (i + 1 < widths.size()) line += std::string(widths[i] - text.size() + 3, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  };
  emit(headers);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string nodes_table(const std::vector<protocol::NodeStatus>& nodes, int64_t now_ms, bool wide) {
  std::vector<std::string> headers = {"NAME", "STATE", "CPU", "MEMORY", "GPUS", "HEARTBEAT"};
  if (wide) headers.insert(headers.end(), {"ADDRESS", "EPOCH", "LABELS"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& node : nodes) {
    std::vector<std::string> row = {
        node.name,
        node.state,
        format_cores(node.allocated_cpu_millis) + "/" + format_cores(node.cpu_millis),
        format_bytes(node.allocated_memory_bytes) + "/" + format_bytes(node.memory_bytes),
        std::to_string(node.allocated_gpus) + "/" + std::to_string(node.gpus),
        node.last_heartbeat_ms > 0 ? age_since(node.last_heartbeat_ms, now_ms) + " ago" : "-",
    };
    if (wide) {
      row.insert(row.end(), {node.address, std::to_string(node.epoch), join_labels(node.labels)});
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string format_metrics(const std::map<std::string, double>& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    out += (out.empty() ? "" : " ") + name + "=" + format_number(value);
  }
  return out;
}

std::string jobs_table(const std::vector<protocol::JobStatus>& jobs, int64_t now_ms, bool wide) {
  std::vector<std::string> headers = {"NAME", "KIND", "PHASE", "REASON", "EXIT", "NODE", "AGE"};
  if (wide) headers.insert(headers.end(), {"REPLICA", "DURATION", "METRICS", "MESSAGE"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& job : jobs) {
    std::vector<std::string> row = {
        job.name,
        job.kind,
        job.phase,
        job.reason,
        job.exit_code ? std::to_string(*job.exit_code) : "",
        job.node,
        age_since(job.created_ms, now_ms),
    };
    if (wide) {
      std::string duration;
      if (job.started_ms > 0) {
        duration = format_age((job.finished_ms > 0 ? job.finished_ms : now_ms) - job.started_ms);
      }
      row.insert(row.end(), {job.replica, duration, format_metrics(job.metrics), job.message});
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string describe_job(const protocol::JobStatus& job, int64_t now_ms) {
  std::vector<std::vector<std::string>> fields = {
      {"Name:", job.name},
      {"Kind:", job.kind},
      {"Phase:", job.phase},
      {"Reason:", job.reason},
      {"Message:", job.message},
      {"Exit Code:", job.exit_code ? std::to_string(*job.exit_code) : ""},
      {"Node:", job.node},
      {"Replica:", job.replica},
      {"Created:", when(job.created_ms, now_ms)},
      {"Started:", when(job.started_ms, now_ms)},
      {"Finished:", when(job.finished_ms, now_ms)},
  };
  // Labels pad to one column so every value, and every <none>, lines up.
  const auto label = [](const char* name) {
    char padded[64];
    std::snprintf(padded, sizeof(padded), "%-12s", name);
    return std::string(padded);
  };
  std::string out;
  for (const auto& field : fields) out += label(field[0].c_str()) + cell(field[1]) + "\n";
  const auto section = [&](const char* name, const std::string& body) {
    out += body.empty() ? label(name) + "<none>\n" : std::string(name) + "\n" + body;
  };
  std::vector<std::vector<std::string>> metric_rows;
  for (const auto& [name, value] : job.metrics) metric_rows.push_back({name, format_number(value)});
  section("Metrics:",
          metric_rows.empty() ? "" : indent(render_table({"NAME", "VALUE"}, metric_rows), "  "));
  section("Manifest:", job.manifest.empty() ? "" : indent(job.manifest, "  "));
  std::vector<std::vector<std::string>> event_rows;
  for (const auto& event : job.events) {
    event_rows.push_back(
        {age_since(event.time_ms, now_ms), event.type, event.reason, event.message});
  }
  section("Events:",
          event_rows.empty()
              ? ""
              : indent(render_table({"AGE", "TYPE", "REASON", "MESSAGE"}, event_rows), "  "));
  return out;
}

}  // namespace cadre::client

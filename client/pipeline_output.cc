#include "client/pipeline_output.h"
#include "pipelines/json_text.h"

#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include "client/resource_ref.h"
#include "client/table_output.h"
#include "client/time_format.h"
#include "protocol/string_enum.h"

namespace cadre::client {

using nlohmann::json;
using protocol::PipelineState;

namespace {

std::string duration_of(int64_t started, int64_t finished, int64_t now_ms) {
  if (started == 0) return "";
  return format_age((finished ? finished : now_ms) - started);
}

std::string steps_of(const protocol::PipelineRunStatus& run) {
  return std::to_string(run.tasks_succeeded) + "/" + std::to_string(run.tasks_total);
}

// "x=1 y='a b'": a task's or run's parameters on one line.
std::string inline_values(const std::string& text) {
  json v = pipelines::parse_json_or_text(text);
  if (!v.is_object() || v.empty()) return "";
  std::string out;
  for (const auto& [k, value] : v.items()) {
    std::string shown = value.is_string() ? value.get<std::string>() : pipelines::json_text(value);
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    out += (out.empty() ? "" : " ") + k + "=" + shown;
  }
  return out;
}

}  // namespace

std::string pipelines_table(const std::vector<protocol::PipelineInfo>& pipelines, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : pipelines) {
    std::string params;
    for (const auto& param : p.parameters) params += (params.empty() ? "" : ",") + param.name;
    rows.push_back(
        {p.name, std::to_string(p.latest_version), params, age_since(p.created_ms, now_ms)});
  }
  return render_table({"NAME", "VERSION", "PARAMETERS", "AGE"}, rows);
}

std::string runs_table(const std::vector<protocol::PipelineRunStatus>& runs, int64_t now_ms,
                       bool wide) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    std::vector<std::string> row = {r.name,
                                    r.pipeline + ":" + std::to_string(r.pipeline_version),
                                    r.experiment,
                                    protocol::to_string(r.state),
                                    steps_of(r),
                                    age_since(r.created_ms, now_ms),
                                    duration_of(r.started_ms, r.finished_ms, now_ms)};
    if (wide) {
      row.push_back(std::to_string(r.tasks_cached));
      row.push_back(std::to_string(r.tasks_skipped));
      row.push_back(r.message);
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> headers = {"NAME",  "PIPELINE", "EXPERIMENT", "STATE",
                                      "STEPS", "AGE",      "DURATION"};
  if (wide) headers.insert(headers.end(), {"CACHED", "SKIPPED", "MESSAGE"});
  return render_table(headers, rows);
}

json pipeline_to_json(const protocol::PipelineInfo& p, bool detail) {
  json params = json::array();
  for (const auto& param : p.parameters) {
    json one = {{"name", param.name}, {"type", param.type}, {"optional", param.optional}};
    if (!param.default_value.empty())
      one["default"] = pipelines::parse_json_or_text(param.default_value);
    params.push_back(one);
  }
  json out = {{"name", p.name},
              {"description", p.description},
              {"latestVersion", p.latest_version},
              {"createdAt", rfc3339(p.created_ms)},
              {"parameters", params}};
  json versions = json::array();
  for (const auto& v : p.versions) {
    json one = {{"version", v.version}, {"createdAt", rfc3339(v.created_ms)}};
    if (detail) one["manifest"] = v.manifest;
    versions.push_back(one);
  }
  out["versions"] = versions;
  return out;
}

json run_to_json(const protocol::PipelineRunStatus& r, bool detail) {
  json out = {{"name", r.name},
              {"namespace", r.ns},
              {"pipeline", r.pipeline},
              {"pipelineVersion", r.pipeline_version},
              {"experiment", r.experiment},
              {"caching", r.caching},
              {"state", protocol::to_string(r.state)},
              {"message", r.message},
              {"parameters", pipelines::parse_json_or_text(r.parameters)},
              {"outputs", pipelines::parse_json_or_text(r.outputs)},
              {"createdAt", rfc3339_ms(r.created_ms)},
              {"steps",
               {{"total", r.tasks_total},
                {"succeeded", r.tasks_succeeded},
                {"failed", r.tasks_failed},
                {"skipped", r.tasks_skipped},
                {"cached", r.tasks_cached}}}};
  if (r.started_ms) out["startedAt"] = rfc3339_ms(r.started_ms);
  if (r.finished_ms) out["finishedAt"] = rfc3339_ms(r.finished_ms);
  if (!r.recurring_run.empty()) {
    out["recurringRun"] = r.recurring_run;
    out["scheduledAt"] = rfc3339(r.scheduled_ms);
  }
  if (!detail) return out;
  json tasks = json::array();
  for (const auto& t : r.tasks) {
    json one = {{"id", t.id},
                {"name", t.name},
                {"parent", t.parent},
                {"kind", protocol::to_string(t.kind)},
                {"component", t.component},
                {"state", protocol::to_string(t.state)},
                {"cached", t.cached},
                {"cachedFrom", t.cached_from},
                {"attempts", t.attempts},
                {"job", t.job},
                {"workload", step_workload_ref(t)},
                {"message", t.message},
                {"inputs", pipelines::parse_json_or_text(t.inputs)},
                {"outputs", pipelines::parse_json_or_text(t.outputs)},
                {"upstream", t.upstream}};
    json artifacts = json::array();
    for (const auto& a : t.output_artifacts) {
      artifacts.push_back({{"name", a.name},
                           {"uri", a.uri},
                           {"type", a.schema_title},
                           {"metadata", pipelines::parse_json_or_text(a.metadata)}});
    }
    one["outputArtifacts"] = artifacts;
    one["createdAt"] = rfc3339_ms(t.created_ms);
    if (t.started_ms) one["startedAt"] = rfc3339_ms(t.started_ms);
    if (t.finished_ms) one["finishedAt"] = rfc3339_ms(t.finished_ms);
    tasks.push_back(one);
  }
  out["tasks"] = tasks;
  json events = json::array();
  for (const auto& e : r.events) {
    events.push_back({{"time", rfc3339_ms(e.time_ms)},
                      {"type", protocol::to_string(e.type)},
                      {"reason", e.reason},
                      {"message", e.message}});
  }
  out["events"] = events;
  return out;
}

json runs_to_json(const std::vector<protocol::PipelineRunStatus>& runs) {
  json out = json::array();
  for (const auto& r : runs) out.push_back(run_to_json(r, false));
  return out;
}

namespace {

std::string shown(const json& v) {
  // A whole number stored as a double (a metric: test_images=10000) reads as one.
  if (v.is_number_float() && std::abs(v.get<double>()) < 1e15 &&
      v.get<double>() == std::floor(v.get<double>())) {
    return std::to_string(static_cast<int64_t>(v.get<double>()));
  }
  std::string s = v.is_string() ? v.get<std::string>() : pipelines::json_text(v);
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// A run's metrics: every numeric entry of its system.Metrics artifacts.
std::map<std::string, json> metrics_of(const protocol::PipelineRunStatus& r) {
  std::map<std::string, json> out;
  for (const auto& t : r.tasks) {
    for (const auto& a : t.output_artifacts) {
      if (a.schema_title != "system.Metrics") continue;
      json m = pipelines::parse_json_or_text(a.metadata);
      if (!m.is_object()) continue;
      for (const auto& [k, v] : m.items()) {
        if (v.is_number()) out[t.name + "." + k] = v;
      }
    }
  }
  return out;
}

}  // namespace

std::string compare_runs_table(const std::vector<protocol::PipelineRunStatus>& runs,
                               int64_t now_ms) {
  std::vector<std::string> headers = {"RUN"};
  for (const auto& r : runs) headers.push_back(r.name);
  std::vector<std::vector<std::string>> rows;
  auto add_rows =
      [&](const std::string& section,
          const std::function<std::map<std::string, json>(const protocol::PipelineRunStatus&)>&
              values) {
        std::map<std::string, std::vector<std::string>> by_key;
        for (size_t i = 0; i < runs.size(); ++i) {
          for (const auto& [k, v] : values(runs[i])) {
            auto& row = by_key[k];
            row.resize(runs.size(), "-");
            row[i] = shown(v);
          }
        }
        for (auto& [k, cells] : by_key) {
          cells.resize(runs.size(), "-");
          std::vector<std::string> row = {section + k};
          row.insert(row.end(), cells.begin(), cells.end());
          rows.push_back(std::move(row));
        }
      };
  auto object_of = [](const std::string& text) {
    std::map<std::string, json> out;
    json v = pipelines::parse_json_or_text(text);
    if (v.is_object()) {
      for (const auto& [k, value] : v.items()) out[k] = value;
    }
    return out;
  };
  std::vector<std::string> pipeline = {"pipeline"}, state = {"state"}, steps = {"steps"},
                           duration = {"duration"};
  for (const auto& r : runs) {
    pipeline.push_back(r.pipeline + ":" + std::to_string(r.pipeline_version));
    state.push_back(protocol::to_string(r.state));
    steps.push_back(steps_of(r) +
                    (r.tasks_cached ? " (" + std::to_string(r.tasks_cached) + " cached)" : ""));
    duration.push_back(duration_of(r.started_ms, r.finished_ms, now_ms));
  }
  rows.push_back(pipeline);
  rows.push_back(state);
  add_rows("parameter ", [&](const auto& r) { return object_of(r.parameters); });
  add_rows("output ", [&](const auto& r) { return object_of(r.outputs); });
  add_rows("metric ", [&](const auto& r) { return metrics_of(r); });
  rows.push_back(steps);
  rows.push_back(duration);
  return render_table(headers, rows);
}

json compare_runs_json(const std::vector<protocol::PipelineRunStatus>& runs) {
  json out = json::array();
  for (const auto& r : runs) {
    json metrics = json::object();
    for (const auto& [k, v] : metrics_of(r)) metrics[k] = v;
    out.push_back({{"name", r.name},
                   {"pipeline", r.pipeline},
                   {"pipelineVersion", r.pipeline_version},
                   {"state", protocol::to_string(r.state)},
                   {"parameters", pipelines::parse_json_or_text(r.parameters)},
                   {"outputs", pipelines::parse_json_or_text(r.outputs)},
                   {"metrics", metrics}});
  }
  return out;
}

std::string describe_pipeline(const protocol::PipelineInfo& p, int64_t now_ms) {
  std::ostringstream out;
  out << "Name:            " << p.name << "\n";
  if (!p.description.empty()) out << "Description:     " << p.description << "\n";
  out << "Latest version:  " << p.latest_version << "\n";
  out << "Created:         " << rfc3339(p.created_ms) << " (" << age_since(p.created_ms, now_ms)
      << " ago)\n";
  out << "Parameters:\n";
  if (p.parameters.empty()) out << "  (none)\n";
  for (const auto& param : p.parameters) {
    out << "  " << param.name << "  " << param.type;
    if (!param.default_value.empty()) out << "  default " << param.default_value;
    if (param.optional) out << "  optional";
    out << "\n";
  }
  out << "Versions:\n";
  for (const auto& v : p.versions) {
    out << "  " << v.version << "  " << rfc3339(v.created_ms) << "\n";
  }
  return out.str();
}

std::string describe_run(const protocol::PipelineRunStatus& r, int64_t now_ms) {
  std::ostringstream out;
  out << "Name:        " << r.name << "\n";
  out << "Namespace:   " << r.ns << "\n";
  out << "Pipeline:    " << r.pipeline << " (version " << r.pipeline_version << ")\n";
  out << "Experiment:  " << r.experiment << "\n";
  if (!r.recurring_run.empty()) {
    out << "Started by:  recurringrun/" << r.recurring_run << " (due " << rfc3339(r.scheduled_ms)
        << ")\n";
  }
  if (!r.caching) out << "Caching:     off\n";
  out << "State:       " << protocol::to_string(r.state) << "\n";
  if (!r.message.empty()) out << "Message:     " << r.message << "\n";
  out << "Created:     " << rfc3339(r.created_ms) << " (" << age_since(r.created_ms, now_ms)
      << " ago)\n";
  if (r.started_ms) {
    out << "Duration:    " << duration_of(r.started_ms, r.finished_ms, now_ms) << "\n";
  }
  out << "Steps:       " << r.tasks_succeeded << " succeeded, " << r.tasks_failed << " failed, "
      << r.tasks_skipped << " skipped, " << r.tasks_cached << " cached, of " << r.tasks_total
      << "\n";
  const std::string params = inline_values(r.parameters);
  if (!params.empty()) out << "Parameters:  " << params << "\n";
  const std::string outputs = inline_values(r.outputs);
  if (!outputs.empty()) out << "Outputs:     " << outputs << "\n";

  // The DAG: children under their parent, in the order they were triggered.
  std::map<std::string, std::vector<const protocol::PipelineTaskStatus*>> children;
  for (const auto& t : r.tasks) children[t.parent].push_back(&t);
  out << "Tasks:\n";
  if (r.tasks.empty()) out << "  (none yet)\n";
  std::function<void(const std::string&, int)> print = [&](const std::string& parent, int depth) {
    auto it = children.find(parent);
    if (it == children.end()) return;
    for (const auto* t : it->second) {
      const std::string indent(2 + 2 * depth, ' ');
      std::string label =
          t->kind == protocol::PipelineTaskKind::kIteration ? "[" + t->name + "]" : t->name;
      if (t->kind == protocol::PipelineTaskKind::kLoop) label += " (ParallelFor)";
      if (t->kind == protocol::PipelineTaskKind::kDag) label += " (DAG)";
      out << indent << label << "  " << protocol::to_string(t->state);
      const std::string took = duration_of(t->started_ms, t->finished_ms, now_ms);
      if (!took.empty() && t->kind == protocol::PipelineTaskKind::kContainer) out << "  " << took;
      if (t->cached) out << "  cached from " << t->cached_from;
      if (t->attempts > 1) out << "  attempts=" << t->attempts;
      if (!t->job.empty() && t->kind == protocol::PipelineTaskKind::kContainer) {
        out << "  " << step_workload_ref(*t);
      }
      out << "\n";
      const std::string task_outputs = inline_values(t->outputs);
      if (!task_outputs.empty() && t->kind == protocol::PipelineTaskKind::kContainer) {
        out << indent << "  outputs: " << task_outputs << "\n";
      }
      for (const auto& a : t->output_artifacts) {
        out << indent << "  artifact " << a.name << ": " << a.uri << "\n";
      }
      if (!t->message.empty() && t->state != PipelineState::kSucceeded) {
        out << indent << "  " << t->message << "\n";
      }
      print(t->id, depth + 1);
    }
  };
  print("", 0);
  out << events_section(r.events, now_ms);
  return out.str();
}

std::string step_workload_ref(const protocol::PipelineTaskStatus& task) {
  if (task.job.empty()) return "";
  // A deploy or tuning step's job already carries its kind ("experiment/r-2").
  const size_t slash = task.job.find('/');
  const std::string name = slash == std::string::npos ? task.job : task.job.substr(slash + 1);
  if (task.workload_kind.empty()) return slash == std::string::npos ? "job/" + name : task.job;
  return lowercase(task.workload_kind) + "/" + name;
}

}  // namespace cadre::client

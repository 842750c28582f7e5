#include "client/experiment_output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "client/json_output.h"
#include "client/table_output.h"
#include "client/time_format.h"

namespace cadre::client {
namespace {

std::string number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

std::string parameters_text(const std::map<std::string, std::string>& parameters) {
  std::string out;
  for (const auto& [name, value] : parameters) out += (out.empty() ? "" : " ") + name + "=" + value;
  return out;
}

std::string counts_text(const protocol::ExperimentStatus& e) {
  return std::to_string(e.trials_running) + "/" + std::to_string(e.trials_succeeded) + "/" +
         std::to_string(e.trials_failed + e.trials_metrics_unavailable) + "/" +
         std::to_string(e.trials_early_stopped + e.trials_killed) + " of " +
         std::to_string(e.trials_total);
}

std::string best_objective(const protocol::ExperimentStatus& e) {
  const auto& best = e.current_optimal_trial;
  auto it = best.observation.find(e.objective_metric);
  if (best.best_trial_name.empty() || it == best.observation.end()) return "";
  return number(it->second);
}

// NaN and infinities are not JSON numbers: they read as null.
nlohmann::json number_or_null(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

nlohmann::json metrics_json(const std::map<std::string, double>& metrics) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : metrics) out[name] = number_or_null(value);
  return out;
}

}  // namespace

std::string sparkline(const std::map<int64_t, double>& curve, size_t width) {
  static const char* const kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::vector<double> values;
  for (const auto& [step, value] : curve)
    if (std::isfinite(value)) values.push_back(value);
  if (values.empty() || width == 0) return "";
  if (values.size() > width) {
    std::vector<double> sampled;
    for (size_t i = 0; i < width; ++i) sampled.push_back(values[i * values.size() / width]);
    sampled.back() = values.back();
    values.swap(sampled);
  }
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const double span = *hi - *lo;
  std::string out;
  for (double v : values) {
    const int level = span > 0 ? static_cast<int>(std::lround((v - *lo) / span * 7)) : 3;
    out += kBlocks[std::clamp(level, 0, 7)];
  }
  return out;
}

std::string experiments_table(const std::vector<protocol::ExperimentStatus>& experiments,
                              int64_t now_ms, bool wide) {
  std::vector<std::string> headers = {"NAME",   "PHASE", "REASON",    "ALGORITHM",
                                      "TRIALS", "BEST",  "OBJECTIVE", "AGE"};
  if (wide) headers.insert(headers.end(), {"EPOCHS", "MESSAGE"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : experiments) {
    std::vector<std::string> row = {e.name,
                                    protocol::to_string(e.phase),
                                    e.reason,
                                    e.algorithm,
                                    counts_text(e),
                                    e.current_optimal_trial.best_trial_name,
                                    best_objective(e),
                                    age_since(e.created_ms, now_ms)};
    if (wide) {
      row.push_back(std::to_string(e.epochs_consumed));
      row.push_back(e.message);
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string trials_table(const std::vector<protocol::ExperimentStatus>& experiments, bool wide) {
  std::vector<std::string> headers = {"NAME", "PHASE", "OBJECTIVE", "EPOCHS", "PARAMETERS"};
  if (wide) headers.insert(headers.end(), {"REASON", "JOBS"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : experiments) {
    for (const auto& t : e.trials) {
      std::vector<std::string> row = {t.name, protocol::to_string(t.phase),
                                      t.objective ? number(*t.objective) : "",
                                      std::to_string(t.epochs), parameters_text(t.parameters)};
      if (wide) {
        std::string jobs;
        for (const auto& job : t.jobs) jobs += (jobs.empty() ? "" : ",") + job;
        row.push_back(t.reason);
        row.push_back(jobs);
      }
      rows.push_back(std::move(row));
    }
  }
  return render_table(headers, rows);
}

std::string describe_experiment(const protocol::ExperimentStatus& e, int64_t now_ms) {
  std::string out;
  auto field = [&](const std::string& name, const std::string& value) {
    out += describe_label(name) + (value.empty() ? "-" : value) + "\n";
  };
  auto when = [&](int64_t ms) {
    return ms <= 0 ? std::string() : rfc3339(ms) + " (" + age_since(ms, now_ms) + " ago)";
  };
  field("Name:", e.name);
  field("Phase:", protocol::to_string(e.phase));
  field("Reason:", e.reason);
  field("Message:", e.message);
  field("Algorithm:", e.algorithm);
  field("Objective:", e.objective_type + " " + e.objective_metric);
  field("Created:", when(e.created_ms));
  field("Finished:", when(e.finished_ms));
  field("Trials:", std::to_string(e.trials_total) + " (" + std::to_string(e.trials_running) +
                       " running, " + std::to_string(e.trials_succeeded) + " succeeded, " +
                       std::to_string(e.trials_failed) + " failed, " +
                       std::to_string(e.trials_early_stopped) + " early-stopped, " +
                       std::to_string(e.trials_metrics_unavailable) + " metrics unavailable, " +
                       std::to_string(e.trials_killed) + " killed)");
  field("Epochs:", std::to_string(e.epochs_consumed) + " trained, " +
                       std::to_string(e.epochs_resumed) + " resumed from checkpoints");
  const auto& best = e.current_optimal_trial;
  if (best.best_trial_name.empty()) {
    field("Best Trial:", "");
  } else {
    out += "Best Trial:\n";
    out += "  " + describe_label("Name:") + best.best_trial_name + "\n";
    out +=
        "  " + describe_label("Parameters:") + parameters_text(best.parameter_assignments) + "\n";
    out += "  " + describe_label("Metrics:") + format_metrics(best.observation) + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : e.trials) {
    rows.push_back({t.name, protocol::to_string(t.phase), t.objective ? number(*t.objective) : "",
                    std::to_string(t.epochs), parameters_text(t.parameters), sparkline(t.curve),
                    t.phase == protocol::TrialPhase::kSucceeded ? "" : t.reason});
  }
  if (rows.empty()) {
    out += describe_label("Trials:") + "<none>\n";
  } else {
    std::istringstream table(render_table(
        {"NAME", "PHASE", "OBJECTIVE", "EPOCHS", "PARAMETERS", "CURVE", "REASON"}, rows));
    out += "Trials:\n";
    for (std::string line; std::getline(table, line);) out += "  " + line + "\n";
  }
  std::vector<std::vector<std::string>> events;
  for (const auto& event : e.events) {
    events.push_back({age_since(event.time_ms, now_ms), protocol::to_string(event.type),
                      event.reason, event.message});
  }
  if (events.empty()) {
    out += describe_label("Events:") + "<none>\n";
  } else {
    std::istringstream table(render_table({"AGE", "TYPE", "REASON", "MESSAGE"}, events));
    out += "Events:\n";
    for (std::string line; std::getline(table, line);) out += "  " + line + "\n";
  }
  return out;
}

nlohmann::json trial_to_json(const std::string& experiment, const protocol::TrialStatus& t) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& [step, value] : t.curve)
    curve.push_back({{"step", step}, {"value", number_or_null(value)}});
  return {
      {"name", t.name},
      {"experiment", experiment},
      {"parameters", t.parameters},
      {"phase", protocol::to_string(t.phase)},
      {"reason", t.reason},
      {"message", t.message},
      {"objective", t.objective ? number_or_null(*t.objective) : nlohmann::json(nullptr)},
      {"metrics", metrics_json(t.metrics)},
      {"epochs", t.epochs},
      {"epochsResumed", t.epochs_resumed},
      {"resource", t.resource},
      {"rung", t.rung},
      {"jobs", t.jobs},
      {"curve", curve},
      {"createdAt", time_or_null(t.created_ms)},
      {"finishedAt", time_or_null(t.finished_ms)},
  };
}

nlohmann::json experiment_to_json(const protocol::ExperimentStatus& e, bool detail) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const auto& c : e.conditions) {
    conditions.push_back({{"type", protocol::to_string(c.type)},
                          {"status", protocol::to_string(c.status)},
                          {"reason", c.reason},
                          {"message", c.message},
                          {"lastTransitionTime", time_or_null(c.last_transition_ms)}});
  }
  const auto& best = e.current_optimal_trial;
  nlohmann::json best_trial = nullptr;
  if (!best.best_trial_name.empty()) {
    auto objective = best.observation.find(e.objective_metric);
    best_trial = {
        {"name", best.best_trial_name},
        {"parameters", best.parameter_assignments},
        {"objective", objective == best.observation.end() ? nlohmann::json(nullptr)
                                                          : number_or_null(objective->second)},
        {"metrics", metrics_json(best.observation)}};
  }
  nlohmann::json out = {
      {"name", e.name},
      {"namespace", e.ns},
      {"phase", protocol::to_string(e.phase)},
      {"reason", e.reason},
      {"message", e.message},
      {"algorithm", e.algorithm},
      {"objective", {{"metric", e.objective_metric}, {"type", e.objective_type}}},
      {"createdAt", time_or_null(e.created_ms)},
      {"startedAt", time_or_null(e.started_ms)},
      {"finishedAt", time_or_null(e.finished_ms)},
      {"counts",
       {{"trials", e.trials_total},
        {"trialsRunning", e.trials_running},
        {"trialsSucceeded", e.trials_succeeded},
        {"trialsFailed", e.trials_failed},
        {"trialsEarlyStopped", e.trials_early_stopped},
        {"trialMetricsUnavailable", e.trials_metrics_unavailable},
        {"trialsKilled", e.trials_killed}}},
      {"bestTrial", best_trial},
      {"epochsConsumed", e.epochs_consumed},
      {"epochsResumed", e.epochs_resumed},
      {"conditions", conditions},
  };
  if (detail) {
    nlohmann::json trials = nlohmann::json::array();
    for (const auto& t : e.trials) trials.push_back(trial_to_json(e.name, t));
    out["trials"] = trials;
    nlohmann::json events = nlohmann::json::array();
    for (const auto& ev : e.events) {
      events.push_back({{"time", time_or_null(ev.time_ms)},
                        {"type", protocol::to_string(ev.type)},
                        {"reason", ev.reason},
                        {"message", ev.message}});
    }
    out["events"] = events;
    out["manifest"] = e.manifest;
  }
  return out;
}

nlohmann::json experiments_to_json(const std::vector<protocol::ExperimentStatus>& experiments) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& e : experiments) items.push_back(experiment_to_json(e, false));
  return items;
}

}  // namespace cadre::client

// The experiment supervisor's trials: their metrics as they come and how they
// end (experiment_state_machine.h has the states; the lifecycle, filling and
// deletion are in experiment_state_machine.cc).
#include <algorithm>
#include <cmath>

#include "actors/experiment_state_machine.h"

namespace cadre::actors {
namespace {

using protocol::EventType;
using protocol::ExperimentPhase;
using protocol::TrialPhase;
namespace reason = protocol::reason;

std::string format_number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", v);
  return text;
}

}  // namespace

// ---- metrics ----------------------------------------------------------------------

bool ExperimentStateMachine::absorb(TrialStatus& t, const std::vector<protocol::MetricSample>& in) {
  const std::string& objective = spec_.objective.objective_metric_name;
  const size_t index = static_cast<size_t>(t.id - 1);
  for (const auto& sample : in) {
    auto strategy = spec_.objective.metric_strategies.find(sample.name);
    if (strategy == spec_.objective.metric_strategies.end()) continue;  // not asked for
    if (sample.name == objective) {
      if (!std::isfinite(sample.value)) return false;
      ++segment_steps_[index];
      if (t.curve.size() < options_.max_curve_points || t.curve.count(sample.step)) {
        t.curve[sample.step] = sample.value;
      }
    } else if (!std::isfinite(sample.value)) {
      continue;  // an additional metric that is not a number says nothing
    }
    auto [it, fresh] = t.metrics.emplace(sample.name, sample.value);
    if (!fresh) {
      switch (strategy->second) {
        case spec::MetricStrategy::kMin:
          it->second = std::min(it->second, sample.value);
          break;
        case spec::MetricStrategy::kMax:
          it->second = std::max(it->second, sample.value);
          break;
        case spec::MetricStrategy::kLatest:
          it->second = sample.value;
          break;
      }
    }
  }
  auto value = t.metrics.find(objective);
  if (value != t.metrics.end()) t.objective = value->second;
  return true;
}

ExperimentEffects ExperimentStateMachine::on_metrics(
    const std::string& job, const std::vector<protocol::MetricSample>& samples) {
  ExperimentEffects out;
  TrialStatus* t = trial_of_job(job);
  if (!t || !running(*t) || t->jobs.back() != job || protocol::is_terminal(rec_.phase)) return out;
  const size_t before = t->curve.size();
  if (!absorb(*t, samples)) {
    out.push_back(experiment_effect::StopJob{job, reason::kInvalidMetric,
                                             "objective is not a finite number"});
    end_trial(out, *t, TrialPhase::kFailed, reason::kInvalidMetric,
              spec_.objective.objective_metric_name + " was not a finite number (NaN or inf)");
    persist(out);
    fill(out);
    return out;
  }
  if (!median_ || t->curve.size() == before) return out;
  const auto h = history();
  const auto* self = h.find(t->id);
  if (!self || !tuning::should_stop(h, *self, *median_)) return out;
  out.push_back(
      experiment_effect::StopJob{job, reason::kEarlyStopped, "stopped by median stopping"});
  end_trial(out, *t, TrialPhase::kEarlyStopped, reason::kEarlyStopped,
            "best " + spec_.objective.objective_metric_name +
                " so far is worse than the median "
                "of the other trials' running averages at step " +
                std::to_string(t->curve.rbegin()->first));
  persist(out);
  fill(out);
  return out;
}

// ---- trial ends ---------------------------------------------------------------------

void ExperimentStateMachine::end_trial(ExperimentEffects& out, TrialStatus& t, TrialPhase phase,
                                       const std::string& why, const std::string& message) {
  const size_t index = static_cast<size_t>(t.id - 1);
  const int64_t steps = segment_steps_[index];
  segment_steps_.erase(index);
  t.epochs += steps;
  // A promoted job that reported fewer steps than its budget reached them from
  // the checkpoint instead of training them again.
  if (t.jobs.size() > 1 && phase == TrialPhase::kSucceeded && steps > 0 && steps < t.resource) {
    t.epochs_resumed += t.resource - steps;
  }
  t.phase = phase;
  t.reason = why;
  t.message = message;
  t.finished_ms = now();
  std::string text = "trial " + t.name + " " + protocol::to_string(phase);
  if (t.objective)
    text += ", " + spec_.objective.objective_metric_name + "=" + format_number(*t.objective);
  if (!message.empty()) text += ": " + message;
  const bool bad = phase == TrialPhase::kFailed || phase == TrialPhase::kMetricsUnavailable;
  event(out, bad ? EventType::kWarning : EventType::kNormal,
        phase == TrialPhase::kSucceeded ? reason::kTrialFinished : why, text);
}

void ExperimentStateMachine::complete_trial(ExperimentEffects& out, TrialStatus& t) {
  if (!t.objective) {
    end_trial(out, t, TrialPhase::kMetricsUnavailable, reason::kMetricsUnavailable,
              "the job succeeded without reporting " + spec_.objective.objective_metric_name);
    return;
  }
  end_trial(out, t, TrialPhase::kSucceeded, reason::kCompleted, "");
  if (meets_goal(*t.objective)) {
    finish(out, ExperimentPhase::kSucceeded, reason::kGoalReached,
           "trial " + t.name + " reached " + spec_.objective.objective_metric_name + "=" +
               format_number(*t.objective) + " (goal " + format_number(*spec_.objective.goal) +
               ")");
  }
}

ExperimentEffects ExperimentStateMachine::on_job_status(const protocol::JobStatus& job) {
  ExperimentEffects out;
  TrialStatus* t = trial_of_job(job.name);
  if (!t || !running(*t) || t->jobs.back() != job.name || !protocol::is_terminal(job.phase))
    return out;
  if (job.phase == protocol::JobPhase::kSucceeded) {
    complete_trial(out, *t);
  } else {
    end_trial(out, *t, TrialPhase::kFailed, job.reason.empty() ? reason::kError : job.reason,
              "job " + job.name + " failed" + (job.message.empty() ? "" : ": " + job.message));
  }
  persist(out);
  fill(out);
  return out;
}

ExperimentEffects ExperimentStateMachine::on_job_gone(const std::string& job) {
  ExperimentEffects out;
  if (deleting_jobs_.erase(job)) maybe_erase(out);
  TrialStatus* t = trial_of_job(job);
  if (!t || !running(*t) || t->jobs.back() != job) return out;
  end_trial(out, *t, TrialPhase::kFailed, reason::kTrialJobLost,
            "job " + job + " was deleted while the trial ran");
  persist(out);
  fill(out);
  return out;
}

}  // namespace cadre::actors

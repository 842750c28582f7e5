#include "actors/experiment_state_machine.h"

#include <algorithm>
#include <cmath>

#include "protocol/spec/spec_parsers.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::ConditionStatus;
using protocol::ConditionType;
using protocol::EventType;
using protocol::ExperimentPhase;
using protocol::TrialPhase;
namespace reason = protocol::reason;

ConditionType condition_of(ExperimentPhase phase) {
  switch (phase) {
    case ExperimentPhase::kCreated:
      return ConditionType::kCreated;
    case ExperimentPhase::kRunning:
      return ConditionType::kRunning;
    case ExperimentPhase::kSucceeded:
      return ConditionType::kSucceeded;
    case ExperimentPhase::kFailed:
      return ConditionType::kFailed;
  }
  return ConditionType::kCreated;
}

tuning::TrialState state_of(TrialPhase phase) {
  switch (phase) {
    case TrialPhase::kRunning:
      return tuning::TrialState::kRunning;
    case TrialPhase::kSucceeded:
      return tuning::TrialState::kSucceeded;
    case TrialPhase::kEarlyStopped:
      return tuning::TrialState::kEarlyStopped;
    default:
      return tuning::TrialState::kFailed;
  }
}

}  // namespace

Result<std::unique_ptr<ExperimentStateMachine>> ExperimentStateMachine::Create(
    protocol::ExperimentStatus record, spec::ExperimentSpec spec,
    ExperimentMachineOptions options) {
  ASSIGN_OR_RETURN(auto suggester, tuning::create_suggester(spec.algorithm.name, spec.parameters,
                                                            spec.algorithm.settings));
  if (!options.now_ms) options.now_ms = wall_ms;
  return std::unique_ptr<ExperimentStateMachine>(new ExperimentStateMachine(
      std::move(record), std::move(spec), std::move(options), std::move(suggester)));
}

ExperimentStateMachine::ExperimentStateMachine(protocol::ExperimentStatus record,
                                               spec::ExperimentSpec spec,
                                               ExperimentMachineOptions options,
                                               std::unique_ptr<tuning::Suggester> suggester)
    : rec_(std::move(record)),
      spec_(std::move(spec)),
      options_(std::move(options)),
      suggester_(std::move(suggester)),
      writes_(options_.store_retry) {
  if (spec_.early_stopping) {
    auto median = tuning::median_stop_options(spec_.early_stopping->settings);
    if (median.ok()) median_ = *median;
  }
  rec_.algorithm = spec_.algorithm.name;
  rec_.ns = spec_.metadata.ns;
  rec_.objective_metric = spec_.objective.objective_metric_name;
  rec_.objective_type = spec_.objective.type == tuning::Goal::kMaximize ? "maximize" : "minimize";
  for (size_t i = 0; i < rec_.trials.size(); ++i)
    for (const auto& job : rec_.trials[i].jobs) job_trial_[job] = i;
}

// ---- bookkeeping ------------------------------------------------------------------

protocol::TrialStatus* ExperimentStateMachine::trial_of_job(const std::string& job) {
  auto it = job_trial_.find(job);
  return it == job_trial_.end() ? nullptr : &rec_.trials[it->second];
}

int32_t ExperimentStateMachine::running_count() const {
  return static_cast<int32_t>(std::count_if(rec_.trials.begin(), rec_.trials.end(),
                                            [&](const auto& t) { return running(t); }));
}

// Katib counts a trial whose metrics never came with the failed ones when it
// applies maxFailedTrialCount: neither gives the search a result.
int32_t ExperimentStateMachine::failed_count() const {
  return rec_.trials_failed + rec_.trials_metrics_unavailable;
}

void ExperimentStateMachine::recount() {
  auto& r = rec_;
  r.trials_total = static_cast<int32_t>(r.trials.size());
  r.trials_running = r.trials_succeeded = r.trials_failed = r.trials_early_stopped = 0;
  r.trials_metrics_unavailable = r.trials_killed = 0;
  r.epochs_consumed = r.epochs_resumed = 0;
  const TrialStatus* best = nullptr;
  for (const auto& t : r.trials) {
    switch (t.phase) {
      case TrialPhase::kRunning:
        ++r.trials_running;
        break;
      case TrialPhase::kSucceeded:
        ++r.trials_succeeded;
        break;
      case TrialPhase::kFailed:
        ++r.trials_failed;
        break;
      case TrialPhase::kEarlyStopped:
        ++r.trials_early_stopped;
        break;
      case TrialPhase::kMetricsUnavailable:
        ++r.trials_metrics_unavailable;
        break;
      case TrialPhase::kKilled:
        ++r.trials_killed;
        break;
    }
    r.epochs_consumed += t.epochs;
    r.epochs_resumed += t.epochs_resumed;
    // The best trial is among those that ran their budget and reported.
    if (t.phase != TrialPhase::kSucceeded || !t.objective) continue;
    const auto loss = [&](double v) {
      return spec_.objective.type == tuning::Goal::kMinimize ? v : -v;
    };
    if (!best || loss(*t.objective) < loss(*best->objective)) best = &t;
  }
  r.current_optimal_trial = {};
  if (best) {
    r.current_optimal_trial.best_trial_name = best->name;
    r.current_optimal_trial.parameter_assignments = best->parameters;
    r.current_optimal_trial.observation = best->metrics;
  }
}

protocol::ExperimentStatus ExperimentStateMachine::summary() const {
  protocol::ExperimentStatus s = rec_;
  s.manifest.clear();
  s.trials.clear();
  s.events.clear();
  return s;
}

tuning::TrialHistory ExperimentStateMachine::history() const {
  tuning::TrialHistory h;
  h.goal = spec_.objective.type;
  for (const auto& t : rec_.trials) {
    tuning::TrialRecord r;
    r.id = t.id;
    r.assignment = t.assignment;
    r.state = state_of(t.phase);
    r.curve = t.curve;
    r.objective = t.objective;
    r.resource = t.resource;
    r.bracket = t.bracket;
    r.rung = t.rung;
    h.trials.push_back(std::move(r));
  }
  return h;
}

bool ExperimentStateMachine::meets_goal(double objective) const {
  if (!spec_.objective.goal) return false;
  return spec_.objective.type == tuning::Goal::kMaximize ? objective >= *spec_.objective.goal
                                                         : objective <= *spec_.objective.goal;
}

// ---- durability -----------------------------------------------------------------

void ExperimentStateMachine::persist(ExperimentEffects& out, std::vector<Deferred> then) {
  recount();
  // Once a delete has begun nothing is written: a write landing after the erase
  // would bring the experiment back. (A failed delete writes the whole record
  // again with its next change.)
  if (deleting_) return;
  then.emplace_back(std::in_place_type<Publish>);
  out.push_back(experiment_effect::Persist{writes_.write(std::move(then))});
}

ExperimentEffects ExperimentStateMachine::on_stored(uint64_t seq, const Status& status) {
  ExperimentEffects out;
  if (status.ok()) {
    for (const auto& d : writes_.stored(seq)) run_deferred(out, d);
    return out;
  }
  const auto failure = writes_.failed(seq);
  if (failure.superseded) return out;
  if (failure.give_up && !protocol::is_terminal(rec_.phase)) {
    // Trials not yet created never will be: what waits for a write is dropped.
    writes_.keep_only([](const Deferred& d) { return std::holds_alternative<Publish>(d); });
    for (auto& t : rec_.trials) {
      if (running(t) && !t.jobs.empty()) {
        out.push_back(
            experiment_effect::StopJob{t.jobs.back(), reason::kStopped, "experiment failed"});
      }
    }
    finish(out, ExperimentPhase::kFailed, reason::kStoreUnavailable,
           "state not stored after " + std::to_string(writes_.retry_limit()) +
               " retries: " + status.message());
    return out;
  }
  if (failure.retry_in) out.push_back(experiment_effect::StartRetryTimer{*failure.retry_in});
  return out;
}

ExperimentEffects ExperimentStateMachine::on_retry_timer() {
  ExperimentEffects out;
  if (writes_.retry_due()) out.push_back(experiment_effect::Persist{writes_.write({})});
  return out;
}

// GCC 12 warns (wrongly) that a variant built in an initializer list may be
// uninitialized; pushing it keeps -Werror quiet.
void ExperimentStateMachine::create_after_write(ExperimentEffects& out, size_t trial,
                                                const std::string& job) {
  std::vector<Deferred> then;
  CreateIfCurrent create;
  create.trial = trial;
  create.job = job;
  then.emplace_back(std::move(create));
  persist(out, std::move(then));
}

void ExperimentStateMachine::run_deferred(ExperimentEffects& out, const Deferred& d) {
  if (const auto* c = std::get_if<CreateIfCurrent>(&d)) {
    const auto& t = rec_.trials[c->trial];
    if (!running(t) || t.jobs.empty() || t.jobs.back() != c->job || deleting_) return;
    auto rendered = spec::render_trial(spec_, c->job, t.assignment);
    if (!rendered.ok()) {
      // Checked when the experiment was applied; a failure here is a bug, not a hang.
      auto& trial = rec_.trials[c->trial];
      end_trial(out, trial, TrialPhase::kFailed, "TemplateError", rendered.status().message());
      persist(out);
      fill(out);
      return;
    }
    creating_.insert(c->job);
    protocol::MetricsCollection metrics;
    const auto& collector = spec_.metrics_collector;
    metrics.source = collector.kind == spec::CollectorKind::kFile   ? "file"
                     : collector.kind == spec::CollectorKind::kPush ? "push"
                                                                    : "stdout";
    metrics.file = collector.file_path;
    metrics.formats = collector.metrics_format;
    out.push_back(experiment_effect::CreateJob{c->job, rendered->yaml, t.name, std::move(metrics)});
  } else if (std::holds_alternative<Publish>(d)) {
    out.push_back(experiment_effect::PublishSummary{});
  }
}

void ExperimentStateMachine::event(ExperimentEffects& out, EventType type, const std::string& why,
                                   const std::string& message) {
  out.push_back(experiment_effect::RecordEvent{protocol::JobEvent{now(), type, why, message}});
}

void ExperimentStateMachine::set_phase(ExperimentPhase phase, const std::string& why,
                                       const std::string& message) {
  rec_.phase = phase;
  rec_.reason = why;
  rec_.message = message;
  const ConditionType type = condition_of(phase);
  for (auto& c : rec_.conditions) {
    if (c.type != type && c.type != ConditionType::kCreated) c.status = ConditionStatus::kFalse;
  }
  auto it = std::find_if(rec_.conditions.begin(), rec_.conditions.end(),
                         [&](const auto& c) { return c.type == type; });
  if (it == rec_.conditions.end()) {
    rec_.conditions.push_back({type, ConditionStatus::kTrue, why, message, now()});
  } else {
    *it = {type, ConditionStatus::kTrue, why, message, now()};
  }
}

// ---- lifecycle --------------------------------------------------------------------

ExperimentEffects ExperimentStateMachine::create() {
  ExperimentEffects out;
  set_phase(ExperimentPhase::kCreated, reason::kCreated, "experiment created");
  rec_.started_ms = now();
  set_phase(ExperimentPhase::kRunning, reason::kStarted,
            "searching with " + spec_.algorithm.name + ", " +
                std::to_string(spec_.parallel_trial_count) + " trials at a time");
  event(out, EventType::kNormal, reason::kStarted, rec_.message);
  fill(out);
  persist(out);
  return out;
}

ExperimentEffects ExperimentStateMachine::restore(
    const std::map<std::string, protocol::JobStatus>& jobs,
    const std::map<std::string, std::vector<protocol::MetricSample>>& samples) {
  ExperimentEffects out;
  recount();
  for (size_t i = 0; i < rec_.trials.size(); ++i) {
    auto& t = rec_.trials[i];
    if (!running(t) || t.jobs.empty()) continue;
    const std::string& job = t.jobs.back();
    if (protocol::is_terminal(rec_.phase)) {
      // The experiment ended while this trial's job was being stopped.
      if (jobs.count(job))
        out.push_back(experiment_effect::StopJob{job, reason::kStopped, "experiment ended"});
      end_trial(out, t, TrialPhase::kKilled, reason::kTrialKilled, "experiment ended");
      continue;
    }
    auto stored = samples.find(job);
    if (stored != samples.end() && !absorb(t, stored->second)) {
      end_trial(out, t, TrialPhase::kFailed, reason::kInvalidMetric,
                spec_.objective.objective_metric_name + " was not a finite number");
      if (jobs.count(job))
        out.push_back(experiment_effect::StopJob{job, reason::kStopped, "invalid metric"});
      continue;
    }
    auto current = jobs.find(job);
    if (current == jobs.end()) {
      // Stored before the coordinator stopped, its job never created: create it now.
      run_deferred(out, CreateIfCurrent{i, job});
    } else if (protocol::is_terminal(current->second.phase)) {
      auto more = on_job_status(current->second);
      out.insert(out.end(), more.begin(), more.end());
    }
  }
  if (!protocol::is_terminal(rec_.phase)) fill(out);
  persist(out);
  return out;
}

void ExperimentStateMachine::fill(ExperimentEffects& out) {
  if (protocol::is_terminal(rec_.phase) || deleting_) return;
  recount();
  const int32_t max_trials = spec_.max_trial_count.value_or(kMaxTrials);
  bool exhausted = false, max_reached = false, waiting = false;
  while (running_count() < spec_.parallel_trial_count) {
    if (spec_.max_failed_trial_count && failed_count() > *spec_.max_failed_trial_count) break;
    auto next = suggester_->next(history());
    if (!next.ok()) {
      finish(out, ExperimentPhase::kFailed, "SuggestionFailed", next.status().message());
      return;
    }
    if (next->decision == tuning::Decision::kExhausted) {
      exhausted = true;
      break;
    }
    if (next->decision == tuning::Decision::kWait) {
      waiting = true;
      break;
    }
    const auto& s = next->suggestion;
    if (s.continue_trial) {
      const auto id = *s.continue_trial;
      if (id < 1 || id > static_cast<int64_t>(rec_.trials.size())) break;
      promote(out, rec_.trials[static_cast<size_t>(id - 1)], s);
      continue;
    }
    if (static_cast<int32_t>(rec_.trials.size()) >= max_trials) {
      max_reached = true;
      break;
    }
    if (!start_trial(out, s)) break;
  }
  recount();
  if (spec_.max_failed_trial_count && failed_count() > *spec_.max_failed_trial_count) {
    finish(out, ExperimentPhase::kFailed, reason::kMaxFailedTrialsReached,
           std::to_string(failed_count()) + " trials failed, more than maxFailedTrialCount " +
               std::to_string(*spec_.max_failed_trial_count));
    return;
  }
  if (running_count() > 0) return;
  if (max_reached) {
    finish(out, ExperimentPhase::kSucceeded, reason::kMaxTrialsReached,
           std::to_string(rec_.trials.size()) + " trials run (maxTrialCount)");
  } else if (exhausted || waiting) {
    // An algorithm that waits with nothing running can never go on.
    finish(out, ExperimentPhase::kSucceeded, reason::kSearchSpaceExhausted,
           "the algorithm has no further trial to suggest");
  }
}

bool ExperimentStateMachine::start_trial(ExperimentEffects& out, const tuning::Suggestion& s) {
  TrialStatus t;
  t.id = static_cast<int64_t>(rec_.trials.size()) + 1;
  t.name = rec_.name + "-" + std::to_string(t.id);
  t.assignment = s.assignment;
  for (size_t i = 0; i < spec_.parameters.parameters.size() && i < s.assignment.size(); ++i) {
    const auto& p = spec_.parameters.parameters[i];
    t.parameters[p.name] = tuning::format_value(p, s.assignment[i]);
  }
  t.phase = TrialPhase::kRunning;
  t.reason = reason::kTrialCreated;
  t.resource = s.resource;
  t.bracket = s.bracket;
  t.rung = s.rung;
  t.jobs.push_back(t.name);
  t.created_ms = now();
  const size_t index = rec_.trials.size();
  job_trial_[t.name] = index;
  segment_steps_[index] = 0;
  std::string message = "trial " + t.name + " with";
  for (const auto& [name, value] : t.parameters) message += " " + name + "=" + value;
  rec_.trials.push_back(std::move(t));
  event(out, EventType::kNormal, reason::kTrialCreated, message);
  create_after_write(out, index, rec_.trials[index].name);
  return true;
}

// ASHA and Hyperband continue a trial with a larger budget: a new job with the
// trial's checkpoint folder, so a program that checkpoints resumes.
void ExperimentStateMachine::promote(ExperimentEffects& out, TrialStatus& t,
                                     const tuning::Suggestion& s) {
  const size_t index = static_cast<size_t>(t.id - 1);
  const std::string job = t.name + "-r" + std::to_string(t.jobs.size());
  const int64_t before = t.resource;
  t.assignment = s.assignment;
  for (size_t i = 0; i < spec_.parameters.parameters.size() && i < s.assignment.size(); ++i) {
    const auto& p = spec_.parameters.parameters[i];
    t.parameters[p.name] = tuning::format_value(p, s.assignment[i]);
  }
  t.resource = s.resource;
  t.rung = s.rung;
  t.phase = TrialPhase::kRunning;
  t.reason = reason::kTrialPromoted;
  t.message = "promoted to rung " + std::to_string(s.rung) + " (budget " + std::to_string(before) +
              " -> " + std::to_string(s.resource) + ")";
  t.finished_ms = 0;
  t.jobs.push_back(job);
  job_trial_[job] = index;
  segment_steps_[index] = 0;
  event(out, EventType::kNormal, reason::kTrialPromoted, "trial " + t.name + " " + t.message);
  create_after_write(out, index, job);
}

ExperimentEffects ExperimentStateMachine::on_job_created(const std::string& job,
                                                         const Status& status) {
  ExperimentEffects out;
  creating_.erase(job);
  TrialStatus* t = trial_of_job(job);
  const bool current = t && running(*t) && t->jobs.back() == job && !deleting_;
  if (status.ok() && !current) {
    // Created after the trial ended or the experiment began to go: it must not run.
    if (deleting_) {
      deleting_jobs_.insert(job);
      out.push_back(experiment_effect::DeleteJob{job});
    } else if (protocol::is_terminal(rec_.phase) && !spec_.trial_template.retain) {
      out.push_back(experiment_effect::DeleteJob{job});
    } else {
      out.push_back(experiment_effect::StopJob{job, reason::kStopped, "its trial has ended"});
    }
    return out;
  }
  if (!current) {
    maybe_erase(out);
    return out;
  }
  if (status.ok()) return out;
  end_trial(out, *t, TrialPhase::kFailed, "JobNotCreated", status.message());
  persist(out);
  fill(out);
  return out;
}

void ExperimentStateMachine::finish(ExperimentEffects& out, ExperimentPhase phase,
                                    const std::string& why, const std::string& message) {
  if (protocol::is_terminal(rec_.phase)) return;
  for (auto& t : rec_.trials) {
    if (!running(t)) continue;
    out.push_back(experiment_effect::StopJob{t.jobs.back(), reason::kStopped, "experiment " + why});
    end_trial(out, t, TrialPhase::kKilled, reason::kTrialKilled, "experiment " + why);
  }
  set_phase(phase, why, message);
  rec_.finished_ms = now();
  event(out, phase == ExperimentPhase::kSucceeded ? EventType::kNormal : EventType::kWarning, why,
        message);
  // Katib's retain: false removes a trial's run once it is done; here once the
  // experiment is, so a promotion never finds its trial's job gone.
  if (!spec_.trial_template.retain) {
    for (const auto& t : rec_.trials)
      for (const auto& job : t.jobs) out.push_back(experiment_effect::DeleteJob{job});
  }
  persist(out);
}

// ---- deletion ---------------------------------------------------------------------

ExperimentEffects ExperimentStateMachine::on_delete(uint64_t request) {
  ExperimentEffects out;
  delete_requests_.push_back(request);
  if (!deleting_) start_delete(out);
  return out;
}

void ExperimentStateMachine::start_delete(ExperimentEffects& out) {
  deleting_ = true;
  for (const auto& t : rec_.trials) {
    for (const auto& job : t.jobs) {
      deleting_jobs_.insert(job);
      out.push_back(experiment_effect::DeleteJob{job});
    }
  }
  maybe_erase(out);
}

ExperimentEffects ExperimentStateMachine::on_job_deleted(const std::string& job,
                                                         const Status& status) {
  ExperimentEffects out;
  if (!deleting_jobs_.count(job)) return out;
  if (!status.ok() && status.code() != StatusCode::kNotFound) {
    // The experiment stays: a later delete tries again.
    deleting_ = false;
    deleting_jobs_.clear();
    std::vector<uint64_t> waiting;
    waiting.swap(delete_requests_);
    out.push_back(experiment_effect::AnswerDelete{
        std::move(waiting), Unavailable("trial job " + job + " not deleted: " + status.message())});
    return out;
  }
  deleting_jobs_.erase(job);
  maybe_erase(out);
  return out;
}

void ExperimentStateMachine::maybe_erase(ExperimentEffects& out) {
  // A job still being created may appear after its delete was answered NotFound.
  if (!deleting_ || erasing_ || !deleting_jobs_.empty() || !creating_.empty()) return;
  erasing_ = true;
  out.push_back(experiment_effect::EraseRecord{});
}

ExperimentEffects ExperimentStateMachine::on_erased(const Status& status) {
  ExperimentEffects out;
  erasing_ = false;
  std::vector<uint64_t> waiting;
  waiting.swap(delete_requests_);
  if (!status.ok()) {
    deleting_ = false;
    out.push_back(experiment_effect::AnswerDelete{
        std::move(waiting),
        Unavailable("experiment " + name() + " not removed from the store: " + status.message())});
    return out;
  }
  // Forgotten by the manager before the client hears (as a job is).
  out.push_back(experiment_effect::Stop{});
  out.push_back(experiment_effect::AnswerDelete{std::move(waiting), Status::Ok()});
  return out;
}

}  // namespace cadre::actors

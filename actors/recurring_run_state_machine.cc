#include "actors/recurring_run_state_machine.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <ctime>

#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::EventType;

// Bounds the walk to the latest missed time (noCatchup) of a very frequent cron.
constexpr int kMaxCatchupSteps = 100000;

std::string compact_utc(int64_t ms) { return utc_text(ms, "%Y%m%d%H%M%S"); }

void describe_spec(protocol::RecurringRunStatus& rec, const spec::RecurringRunSpec& spec) {
  rec.pipeline = spec.run.pipeline;
  rec.trigger = spec.cron.empty() ? "every " + std::to_string(spec.interval_seconds) + "s"
                                  : "cron " + spec.cron;
  rec.enabled = spec.enabled;
  rec.max_concurrency = spec.max_concurrency;
  rec.no_catchup = spec.no_catchup;
}

}  // namespace

Result<std::unique_ptr<RecurringRunStateMachine>> RecurringRunStateMachine::Create(
    protocol::RecurringRunStatus record, std::shared_ptr<const spec::RecurringRunSpec> spec,
    RecurringRunMachineOptions options) {
  std::optional<pipelines::CronSchedule> cron;
  if (!spec->cron.empty()) {
    auto parsed = pipelines::CronSchedule::Parse(spec->cron);
    if (!parsed.ok()) return parsed.status().annotate("spec.trigger.cronSchedule.cron");
    cron = std::move(*parsed);
  }
  if (!options.now_ms) options.now_ms = wall_ms;
  return std::unique_ptr<RecurringRunStateMachine>(new RecurringRunStateMachine(
      std::move(record), std::move(spec), std::move(cron), std::move(options)));
}

protocol::RecurringRunStatus RecurringRunStateMachine::first_record(
    const spec::RecurringRunSpec& spec, const std::string& name, const std::string& ns,
    const std::string& manifest, int64_t now_ms) {
  protocol::RecurringRunStatus rec;
  rec.name = name;
  rec.ns = ns;
  rec.created_ms = now_ms;
  rec.manifest = manifest;
  describe_spec(rec, spec);
  return rec;
}

RecurringRunStateMachine::RecurringRunStateMachine(
    protocol::RecurringRunStatus record, std::shared_ptr<const spec::RecurringRunSpec> spec,
    std::optional<pipelines::CronSchedule> cron, RecurringRunMachineOptions options)
    : rec_(std::move(record)),
      spec_(std::move(spec)),
      cron_(std::move(cron)),
      options_(std::move(options)) {}

protocol::RecurringRunStatus RecurringRunStateMachine::summary() const {
  protocol::RecurringRunStatus s = rec_;
  s.manifest.clear();
  s.events.clear();
  return s;
}

std::optional<int64_t> RecurringRunStateMachine::next_due_after(int64_t after_ms) const {
  std::optional<int64_t> t;
  if (cron_) {
    // Nothing before it was applied (or before startTime, which may be earlier:
    // then the missed times are started, as KFP's backfill does).
    const int64_t floor_ms = spec_->start_ms ? spec_->start_ms - 1 : rec_.created_ms;
    t = cron_->next_after(std::max(after_ms, floor_ms));
  } else {
    const int64_t interval = spec_->interval_seconds * 1000;
    const int64_t anchor = spec_->start_ms ? spec_->start_ms : rec_.created_ms + interval;
    t = after_ms < anchor ? anchor : anchor + ((after_ms - anchor) / interval + 1) * interval;
  }
  if (t && spec_->end_ms && *t > spec_->end_ms) return std::nullopt;
  return t;
}

std::optional<int64_t> RecurringRunStateMachine::due(int64_t now_ms) const {
  const int64_t base = std::max(
      rec_.last_scheduled_ms ? rec_.last_scheduled_ms : rec_.created_ms - 1, rec_.changed_ms);
  auto first = next_due_after(base);
  if (!first || *first > now_ms) return std::nullopt;
  if (!spec_->no_catchup) return first;
  // noCatchup: only the latest time that has come.
  int64_t latest = *first;
  for (int i = 0; i < kMaxCatchupSteps; ++i) {
    auto next = next_due_after(latest);
    if (!next || *next > now_ms) break;
    latest = *next;
  }
  return latest;
}

std::string RecurringRunStateMachine::run_name(int64_t scheduled_ms) const {
  return rec_.name + "-" + compact_utc(scheduled_ms);
}

std::string RecurringRunStateMachine::render_run(const std::string& run) const {
  const spec::PipelineRunSpec& r = spec_->run;
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << spec::kApiVersion;
  y << YAML::Key << "kind" << YAML::Value << "PipelineRun";
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << run;
  y << YAML::Key << "namespace" << YAML::Value << rec_.ns << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "pipelineRef" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << r.pipeline;
  if (r.version) y << YAML::Key << "version" << YAML::Value << *r.version;
  y << YAML::EndMap;
  if (!r.parameters.empty()) {
    y << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, text] : r.parameters) {
      y << YAML::Key << name << YAML::Value << YAML::DoubleQuoted << text;
    }
    y << YAML::EndMap;
  }
  y << YAML::Key << "experiment" << YAML::Value << r.experiment;
  y << YAML::Key << "enableCaching" << YAML::Value << r.enable_caching;
  y << YAML::EndMap << YAML::EndMap;
  return y.c_str();
}

void RecurringRunStateMachine::event(RecurringRunEffects& out, EventType type,
                                     const std::string& reason, const std::string& message) {
  out.push_back(
      recurring_run_effect::RecordEvent{protocol::JobEvent{now(), type, reason, message}});
}

void RecurringRunStateMachine::arm_timer(RecurringRunEffects& out, int64_t at_ms) {
  const int64_t wait = std::clamp<int64_t>(at_ms - now(), 0, options_.max_sleep.count());
  const int64_t wake = now() + wait;
  if (timer_at_ && *timer_at_ <= wake) return;
  timer_at_ = wake;
  out.push_back(recurring_run_effect::StartTimer{std::chrono::milliseconds(wait)});
}

void RecurringRunStateMachine::tick(RecurringRunEffects& out) {
  if (deleting_ || starting_) return;
  out.push_back(recurring_run_effect::PublishSummary{});
  if (!spec_->enabled) {
    rec_.next_ms = 0;
    return;
  }
  if (auto d = due(now())) {
    rec_.next_ms = *d;
    starting_ = *d;
    out.push_back(recurring_run_effect::CountActive{});
    return;
  }
  auto next = next_due_after(std::max({rec_.last_scheduled_ms, rec_.changed_ms, now()}));
  rec_.next_ms = next.value_or(0);
  if (next) {
    arm_timer(out, *next);
  } else if (rec_.message.empty()) {
    rec_.message = "its trigger has ended (endTime " + utc_text(spec_->end_ms) + ")";
  }
}

RecurringRunEffects RecurringRunStateMachine::start() {
  RecurringRunEffects out;
  tick(out);
  return out;
}

RecurringRunEffects RecurringRunStateMachine::on_timer() {
  RecurringRunEffects out;
  if (timer_at_ && *timer_at_ <= now()) timer_at_.reset();
  tick(out);
  return out;
}

RecurringRunEffects RecurringRunStateMachine::on_active(int32_t unfinished_runs) {
  RecurringRunEffects out;
  if (deleting_ || !starting_) return out;
  if (unfinished_runs >= spec_->max_concurrency) {
    rec_.message = "waiting: " + std::to_string(unfinished_runs) +
                   " of its runs have not finished (maxConcurrency " +
                   std::to_string(spec_->max_concurrency) + ")";
    starting_.reset();
    out.push_back(recurring_run_effect::PublishSummary{});
    arm_timer(out, now() + options_.recheck.count());
    return out;
  }
  const std::string run = run_name(*starting_);
  out.push_back(recurring_run_effect::StartRun{run, render_run(run), *starting_});
  return out;
}

RecurringRunEffects RecurringRunStateMachine::on_run_started(const std::string& run,
                                                             const Status& status) {
  RecurringRunEffects out;
  if (deleting_ || !starting_ || run != run_name(*starting_)) return out;
  const int64_t scheduled = *starting_;
  starting_.reset();
  if (status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kDeadlineExceeded) {
    // The coordinator is busy or its store is down: the same start again soon.
    rec_.message = "could not start run/" + run + " yet: " + status.message();
    out.push_back(recurring_run_effect::PublishSummary{});
    arm_timer(out, now() + options_.recheck.count());
    return out;
  }
  rec_.last_scheduled_ms = scheduled;
  if (status.ok()) {
    rec_.runs_started += 1;
    rec_.last_run = run;
    rec_.message.clear();
    event(out, EventType::kNormal, "RunStarted",
          "started run/" + run + " (due " + utc_text(scheduled) + ")");
  } else if (status.code() == StatusCode::kAlreadyExists) {
    rec_.last_run = run;  // started before a restart; not again
  } else {
    // It cannot start (its pipeline was deleted, a parameter no longer fits):
    // that time is missed, said once, and the schedule goes on.
    rec_.message = "run/" + run + " was not started: " + status.message();
    event(out, EventType::kWarning, "RunNotStarted", rec_.message);
  }
  out.push_back(recurring_run_effect::Persist{});
  tick(out);
  return out;
}

RecurringRunEffects RecurringRunStateMachine::on_update(
    std::shared_ptr<const spec::RecurringRunSpec> spec, const std::string& manifest) {
  RecurringRunEffects out;
  if (deleting_) return out;
  std::optional<pipelines::CronSchedule> cron;
  if (!spec->cron.empty()) {
    auto parsed = pipelines::CronSchedule::Parse(spec->cron);
    if (!parsed.ok()) return out;  // checked when applied
    cron = std::move(*parsed);
  }
  spec_ = std::move(spec);
  cron_ = std::move(cron);
  rec_.manifest = manifest;
  rec_.message.clear();
  describe_spec(rec_, *spec_);
  // A changed schedule starts from now: times it would have had before are not
  // made up for.
  rec_.changed_ms = now();
  event(out, EventType::kNormal, "Updated", rec_.trigger + (spec_->enabled ? "" : " (disabled)"));
  out.push_back(recurring_run_effect::Persist{});
  timer_at_.reset();
  tick(out);
  return out;
}

RecurringRunEffects RecurringRunStateMachine::on_delete(uint64_t request) {
  RecurringRunEffects out;
  delete_requests_.push_back(request);
  if (deleting_) return out;
  deleting_ = true;
  out.emplace_back(std::in_place_type<recurring_run_effect::EraseRecord>);
  return out;
}

RecurringRunEffects RecurringRunStateMachine::on_erased(const Status& status) {
  RecurringRunEffects out;
  // Forgotten by the manager before the client hears (as a job is).
  if (status.ok()) {
    out.push_back(recurring_run_effect::Stop{});
  } else {
    deleting_ = false;
  }
  out.push_back(recurring_run_effect::AnswerDelete{delete_requests_, status});
  delete_requests_.clear();
  return out;
}

}  // namespace cadre::actors

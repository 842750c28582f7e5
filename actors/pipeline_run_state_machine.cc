#include "actors/pipeline_run_state_machine.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "pipelines/step_job.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::EventType;
using protocol::PipelineState;
using protocol::PipelineTaskKind;

pipelines::DriverOptions driver_options(const protocol::PipelineRunStatus& run,
                                        const std::string& checkpoint_root,
                                        pipelines::CacheLookup cache) {
  pipelines::DriverOptions o;
  o.cache = std::move(cache);
  o.run_folder = pipeline_run_folder(run.name);
  o.run_dir = checkpoint_root + "/" + run.ns + "/" + o.run_folder;
  return o;
}

}  // namespace

std::string pipeline_run_folder(const std::string& run) { return "_pipelines/" + run; }

namespace {

// Labels hold the task's path with '.' for '/', so they stay one word.
std::string label_of(std::string id) {
  std::replace(id.begin(), id.end(), '/', '.');
  return id;
}

// A step whose `job` is a service or an experiment: applied, then watched.
bool is_watched_job(const std::string& job) {
  return pipelines::is_service_job(job) || pipelines::is_experiment_job(job);
}

// The revision the step applied serves: the service is Ready and its newest
// revision is its newest ready one (with a canary, at the canary's share).
bool rolled_out(const protocol::InferenceServiceStatus& s) {
  return s.ready && !s.latest_created_revision.empty() &&
         s.latest_ready_revision == s.latest_created_revision;
}

// Why a service is not ready yet, from its conditions.
std::string not_ready_because(const protocol::InferenceServiceStatus& s) {
  for (const auto& c : s.conditions) {
    if (c.status == protocol::ConditionStatus::kTrue) continue;
    return std::string(protocol::enum_name(c.type)) + " is " +
           std::string(protocol::enum_name(c.status)) + (c.reason.empty() ? "" : ": " + c.reason) +
           (c.message.empty() ? "" : " (" + c.message + ")");
  }
  return "revision " + s.latest_created_revision + " is not ready";
}

nlohmann::json metrics_of(const protocol::JobStatus& job) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : job.metrics) out[name] = value;
  return out;
}

void emit_container_spec(YAML::Emitter& y, const pipelines::TaskLaunch& launch) {
  const spec::ReplicaTemplate& r = launch.replica;
  y << YAML::BeginMap;
  if (launch.active_deadline_seconds > 0) {
    y << YAML::Key << "activeDeadlineSeconds" << YAML::Value << launch.active_deadline_seconds;
  }
  y << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "command" << YAML::Value << YAML::BeginSeq;
  for (const auto& c : r.command) y << YAML::DoubleQuoted << c;
  y << YAML::EndSeq;
  y << YAML::Key << "args" << YAML::Value << YAML::BeginSeq;
  for (const auto& a : r.args) y << YAML::DoubleQuoted << a;
  y << YAML::EndSeq;
  if (!r.env.empty()) {
    y << YAML::Key << "env" << YAML::Value << YAML::BeginSeq;
    for (const auto& e : r.env) {
      y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << e.name;
      y << YAML::Key << "value" << YAML::Value << YAML::DoubleQuoted << e.value << YAML::EndMap;
    }
    y << YAML::EndSeq;
  }
  const auto& res = r.resources;
  if (res.cpu_millis > 0 || res.memory_bytes > 0 || res.gpus > 0) {
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
    if (res.cpu_millis > 0) {
      y << YAML::Key << "cpu" << YAML::Value << std::to_string(res.cpu_millis) + "m";
    }
    if (res.memory_bytes > 0) {
      y << YAML::Key << "memory" << YAML::Value << std::to_string(res.memory_bytes);
    }
    if (res.gpus > 0) y << YAML::Key << "gpu" << YAML::Value << res.gpus;
    y << YAML::EndMap;
  }
  y << YAML::EndMap << YAML::EndMap;
}

}  // namespace

std::string render_step_job(const protocol::PipelineRunStatus& run,
                            const pipelines::TaskLaunch& launch) {
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << spec::kApiVersion;
  y << YAML::Key << "kind" << YAML::Value << launch.kind;
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value
    << (launch.workload_name.empty() ? launch.job : launch.workload_name);
  y << YAML::Key << "namespace" << YAML::Value << run.ns;
  y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "pipeline" << YAML::Value << run.pipeline;
  y << YAML::Key << "pipeline-run" << YAML::Value << run.name;
  y << YAML::Key << "pipeline-task" << YAML::Value << label_of(launch.task_id);
  y << YAML::EndMap << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value;
  if (launch.workload_spec.empty()) {
    emit_container_spec(y, launch);
  } else {
    y << YAML::Load(launch.workload_spec);
  }
  y << YAML::EndMap;
  return y.c_str();
}

PipelineRunStateMachine::PipelineRunStateMachine(protocol::PipelineRunStatus record,
                                                 std::shared_ptr<const spec::PipelineSpec> spec,
                                                 PipelineRunMachineOptions options)
    : rec_(std::move(record)),
      spec_(spec),
      options_(std::move(options)),
      driver_(std::move(spec),
              driver_options(
                  rec_, options_.checkpoint_root,
                  [this](const std::string& fingerprint) -> const pipelines::CachedExecution* {
                    auto it = options_.cache.find(fingerprint);
                    return it == options_.cache.end() ? nullptr : &it->second;
                  })),
      writes_(options_.store_retry) {
  if (!options_.now_ms) options_.now_ms = wall_ms;
}

protocol::PipelineRunStatus PipelineRunStateMachine::summary() const {
  protocol::PipelineRunStatus s = rec_;
  s.tasks.clear();
  s.manifest.clear();
  s.events.clear();
  return s;
}

const protocol::PipelineTaskStatus* PipelineRunStateMachine::task(const std::string& id) const {
  for (const auto& t : rec_.tasks) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

void PipelineRunStateMachine::event(PipelineRunEffects& out, EventType type,
                                    const std::string& reason, const std::string& message) {
  out.push_back(pipeline_run_effect::RecordEvent{protocol::JobEvent{now(), type, reason, message}});
}

void PipelineRunStateMachine::persist(PipelineRunEffects& out, std::vector<Deferred> then) {
  then.push_back(Publish{});
  out.push_back(pipeline_run_effect::Persist{writes_.write(std::move(then))});
}

void PipelineRunStateMachine::apply(PipelineRunEffects& out, pipelines::DriverActions actions,
                                    PipelineState before, std::vector<Deferred> also) {
  if (!actions.changed) return arm_timer(out);
  std::vector<Deferred> then = std::move(also);
  for (const auto& l : actions.launches) then.push_back(CreateIfCurrent{l.task_id, l.job});
  for (auto& j : actions.stop_jobs) then.push_back(DeleteAfterWrite{std::move(j)});
  if (!actions.executions.empty()) {
    for (const auto& e : actions.executions) options_.cache[e.fingerprint] = e;
    then.push_back(Record{std::move(actions.executions)});
  }
  for (auto& m : actions.metrics) then.push_back(Logged{std::move(m)});
  persist(out, std::move(then));
  // Reading outputs waits for no write: it changes nothing, and after a restart
  // the stored record (job Running, or Succeeded and collecting) leads to the same
  // read again.
  for (auto& r : actions.reads) out.push_back(pipeline_run_effect::ReadOutputs{std::move(r)});
  if (rec_.state != before) {
    switch (rec_.state) {
      case PipelineState::kRunning:
        event(out, EventType::kNormal, "Started", "the run started");
        break;
      case PipelineState::kSucceeded:
        event(out, EventType::kNormal, "Succeeded",
              "every task finished (" + std::to_string(rec_.tasks_succeeded) + " steps succeeded)");
        break;
      case PipelineState::kFailed:
        event(out, EventType::kWarning, "Failed", rec_.message);
        break;
      case PipelineState::kCanceled:
        event(out, EventType::kWarning, "Canceled", rec_.message);
        break;
      default:
        break;
    }
  }
  arm_timer(out);
}

void PipelineRunStateMachine::arm_timer(PipelineRunEffects& out) {
  auto next = driver_.next_retry_ms(rec_);
  if (!next || (timer_at_ && *timer_at_ <= *next)) return;
  timer_at_ = *next;
  out.push_back(pipeline_run_effect::StartTimer{
      std::chrono::milliseconds(std::max<int64_t>(0, *next - now()))});
}

void PipelineRunStateMachine::run_deferred(PipelineRunEffects& out, const Deferred& d) {
  if (const auto* c = std::get_if<CreateIfCurrent>(&d)) {
    const auto* t = task(c->task_id);
    if (deleting_ || !t || t->state != PipelineState::kRunning || t->job != c->job ||
        t->collecting || t->retry_at_ms) {
      return;
    }
    auto launch = driver_.launch_of(rec_, *t);
    if (!launch.ok()) return;
    start_launch(out, *launch);
  } else if (const auto* del = std::get_if<DeleteAfterWrite>(&d)) {
    out.push_back(pipeline_run_effect::DeleteJob{del->job});
  } else if (std::holds_alternative<Publish>(d)) {
    out.push_back(pipeline_run_effect::PublishSummary{});
  } else if (const auto* r = std::get_if<Record>(&d)) {
    out.push_back(pipeline_run_effect::RecordExecutions{r->executions});
  } else if (const auto* l = std::get_if<Logged>(&d)) {
    pipeline_run_effect::RecordStepMetrics record{l->metrics.job, {}};
    for (const auto& [name, value] : l->metrics.values) {
      record.samples.push_back(protocol::MetricSample{name, value, 0, now()});
    }
    out.push_back(std::move(record));
  } else if (const auto* a = std::get_if<Answer>(&d)) {
    out.push_back(pipeline_run_effect::AnswerRetry{a->request, Status::Ok(), a->tasks_reset});
  }
}

PipelineRunEffects PipelineRunStateMachine::create() {
  PipelineRunEffects out;
  const PipelineState before = rec_.state;
  apply(out, driver_.advance(rec_, now()), before);
  return out;
}

PipelineRunEffects PipelineRunStateMachine::restore(
    const std::map<std::string, protocol::JobStatus>& jobs) {
  PipelineRunEffects out;
  const PipelineState before = rec_.state;
  // What each running step was doing when the coordinator stopped.
  std::vector<std::pair<std::string, const protocol::JobStatus*>> finished;
  for (const auto& t : rec_.tasks) {
    if (t.kind != PipelineTaskKind::kContainer || t.state != PipelineState::kRunning) continue;
    if (t.collecting) {
      out.push_back(pipeline_run_effect::ReadOutputs{driver_.read_of(t)});
      continue;
    }
    if (t.retry_at_ms || t.job.empty()) continue;
    if (is_watched_job(t.job)) {
      // Applying the same spec again changes nothing; then it is watched.
      auto launch = driver_.launch_of(rec_, t);
      if (launch.ok()) start_launch(out, *launch);
      continue;
    }
    auto job = jobs.find(t.job);
    if (job == jobs.end()) {
      // Named in the record, never created (or created and lost with the store's
      // last write): create it now under the same name.
      auto launch = driver_.launch_of(rec_, t);
      if (launch.ok()) start_launch(out, *launch);
    } else if (protocol::is_terminal(job->second.phase)) {
      finished.emplace_back(t.job, &job->second);
    }
  }
  pipelines::DriverActions actions = driver_.advance(rec_, now());
  for (const auto& [job, status] : finished) {
    auto more = driver_.on_job_finished(rec_, job, status->phase == protocol::JobPhase::kSucceeded,
                                        status->message.empty() ? status->reason : status->message,
                                        metrics_of(*status), now());
    actions.changed = actions.changed || more.changed;
    for (auto& l : more.launches) actions.launches.push_back(std::move(l));
    for (auto& r : more.reads) actions.reads.push_back(std::move(r));
  }
  apply(out, std::move(actions), before);
  out.push_back(pipeline_run_effect::PublishSummary{});
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_stored(uint64_t seq, const Status& status) {
  PipelineRunEffects out;
  if (status.ok()) {
    for (const auto& d : writes_.stored(seq)) run_deferred(out, d);
    return out;
  }
  auto failure = writes_.failed(seq);
  if (failure.superseded) return out;
  if (failure.give_up) {
    event(out, EventType::kWarning, protocol::reason::kStoreUnavailable,
          "the store refused " + std::to_string(failure.failures) +
              " writes; still retrying: " + status.message());
  }
  if (failure.retry_in) out.push_back(pipeline_run_effect::StartTimer{*failure.retry_in});
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_timer() {
  PipelineRunEffects out;
  if (writes_.retry_due()) persist(out, {});
  timer_at_.reset();
  if (deleting_) return out;
  const PipelineState before = rec_.state;
  apply(out, driver_.advance(rec_, now()), before);
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_job_created(const std::string& job,
                                                           const Status& status) {
  PipelineRunEffects out;
  // AlreadyExists: created before a restart, with the same text; it is adopted.
  if (status.ok() || status.code() == StatusCode::kAlreadyExists || deleting_) return out;
  const PipelineState before = rec_.state;
  apply(out,
        driver_.on_job_finished(rec_, job, false, "its job was not created: " + status.message(),
                                nlohmann::json::object(), now()),
        before);
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_job_status(const protocol::JobStatus& job) {
  PipelineRunEffects out;
  if (deleting_ || !protocol::is_terminal(job.phase)) return out;
  const PipelineState before = rec_.state;
  const std::string message = job.message.empty() ? job.reason : job.message;
  apply(out,
        driver_.on_job_finished(rec_, job.name, job.phase == protocol::JobPhase::kSucceeded,
                                message, metrics_of(job), now()),
        before);
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_job_gone(const std::string& job) {
  PipelineRunEffects out;
  if (deleting_) return out;
  const PipelineState before = rec_.state;
  apply(out,
        driver_.on_job_finished(rec_, job, false, "its job was deleted", nlohmann::json::object(),
                                now()),
        before);
  return out;
}

void PipelineRunStateMachine::start_launch(PipelineRunEffects& out,
                                           const pipelines::TaskLaunch& launch) {
  if (launch.kind == "InferenceService" || launch.kind == "Experiment") {
    out.push_back(pipeline_run_effect::ApplyWorkload{launch.job, render_step_job(rec_, launch)});
    return;
  }
  out.push_back(
      pipeline_run_effect::CreateJob{launch.job, render_step_job(rec_, launch), launch.folder});
}

const protocol::PipelineTaskStatus* PipelineRunStateMachine::watching(
    const std::string& ref) const {
  for (const auto& t : rec_.tasks) {
    if (t.job == ref && t.state == PipelineState::kRunning && !t.collecting && !t.retry_at_ms) {
      return &t;
    }
  }
  return nullptr;
}

void PipelineRunStateMachine::workload_ended(PipelineRunEffects& out, const std::string& ref,
                                             bool succeeded, const std::string& message,
                                             const nlohmann::json& reported) {
  const PipelineState before = rec_.state;
  apply(out, driver_.on_job_finished(rec_, ref, succeeded, message, reported, now()), before);
}

PipelineRunEffects PipelineRunStateMachine::on_workload_applied(const std::string& ref,
                                                                const Status& status) {
  PipelineRunEffects out;
  if (deleting_ || !watching(ref)) return out;
  if (status.ok()) {
    out.push_back(pipeline_run_effect::WatchWorkload{ref, options_.service_poll});
    return out;
  }
  workload_ended(out, ref, false, ref + " was not applied: " + status.message(),
                 nlohmann::json::object());
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_service_status(
    const std::string& service, const Result<protocol::InferenceServiceStatus>& status) {
  PipelineRunEffects out;
  const std::string ref = pipelines::kServiceJobPrefix + service;
  const protocol::PipelineTaskStatus* t = watching(ref);
  if (deleting_ || !t) return out;
  if (status.ok() && rolled_out(*status)) {
    workload_ended(out, ref, true, "",
                   {{"name", status->name},
                    {"url", status->url},
                    {"revision", status->latest_created_revision}});
    return out;
  }
  if (status.ok() && now() - t->started_ms < options_.deploy_timeout.count()) {
    out.push_back(pipeline_run_effect::WatchWorkload{ref, options_.service_poll});
    return out;
  }
  const std::string why = status.ok() ? ref + " was not ready within " +
                                            std::to_string(options_.deploy_timeout.count() / 1000) +
                                            " s: " + not_ready_because(*status)
                                      : status.status().message();
  workload_ended(out, ref, false, why, nlohmann::json::object());
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_experiment_status(
    const std::string& experiment, const Result<protocol::ExperimentStatus>& status) {
  PipelineRunEffects out;
  const std::string ref = pipelines::kExperimentJobPrefix + experiment;
  if (deleting_ || !watching(ref)) return out;
  if (!status.ok()) {
    workload_ended(out, ref, false, status.status().message(), nlohmann::json::object());
    return out;
  }
  // An experiment runs as long as its own limits say (maxTrialCount, goal).
  if (status->phase == protocol::ExperimentPhase::kSucceeded) {
    const auto& best = status->current_optimal_trial;
    if (best.best_trial_name.empty()) {
      workload_ended(out, ref, false, ref + " succeeded without a best trial",
                     nlohmann::json::object());
      return out;
    }
    // Its outputs: the best trial's parameters (as text, typed by the driver),
    // its metrics, and its name.
    nlohmann::json reported = nlohmann::json::object();
    for (const auto& [name, value] : best.parameter_assignments) reported[name] = value;
    for (const auto& [name, value] : best.observation) reported[name] = value;
    reported["best_trial"] = best.best_trial_name;
    workload_ended(out, ref, true, "", reported);
    return out;
  }
  if (status->phase == protocol::ExperimentPhase::kFailed) {
    workload_ended(out, ref, false,
                   ref + " failed: " + (status->message.empty() ? status->reason : status->message),
                   nlohmann::json::object());
    return out;
  }
  out.push_back(pipeline_run_effect::WatchWorkload{ref, options_.service_poll});
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_outputs(const std::string& task_id,
                                                       const pipelines::TaskOutputFiles& files) {
  PipelineRunEffects out;
  if (deleting_) return out;
  const PipelineState before = rec_.state;
  apply(out, driver_.on_outputs(rec_, task_id, files, now()), before);
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_retry(uint64_t request) {
  PipelineRunEffects out;
  if (deleting_) {
    out.push_back(pipeline_run_effect::AnswerRetry{
        request, FailedPrecondition("run/" + name() + " is being deleted"), 0});
    return out;
  }
  const PipelineState before = rec_.state;
  int32_t reset = 0;
  auto actions = driver_.retry(rec_, now(), &reset);
  if (!actions.ok()) {
    out.push_back(pipeline_run_effect::AnswerRetry{request, actions.status(), 0});
    return out;
  }
  event(out, EventType::kNormal, "Retried",
        std::to_string(reset) + " tasks that had not succeeded run again");
  apply(out, std::move(*actions), before, {Answer{request, reset}});
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_delete(uint64_t request) {
  PipelineRunEffects out;
  delete_requests_.push_back(request);
  if (deleting_) return out;
  deleting_ = true;
  const PipelineState before = rec_.state;
  driver_.cancel(rec_, "the run was deleted", now());
  // Every job the run ever made (retries included) goes with it; the record says
  // CANCELED first, so a restart mid-delete does not start the run again.
  std::vector<Deferred> then;
  for (int64_t n = 1; n < rec_.next_job; ++n) {
    const std::string job = rec_.name + "-" + std::to_string(n);
    deleting_jobs_.insert(job);
    then.push_back(DeleteAfterWrite{job});
  }
  persist(out, std::move(then));
  if (rec_.state != before) event(out, EventType::kWarning, "Canceled", rec_.message);
  maybe_erase(out);
  return out;
}

PipelineRunEffects PipelineRunStateMachine::on_job_deleted(const std::string& job,
                                                           const Status& status) {
  PipelineRunEffects out;
  (void)status;  // NotFound: never created, or already gone; both are fine here
  deleting_jobs_.erase(job);
  maybe_erase(out);
  return out;
}

void PipelineRunStateMachine::maybe_erase(PipelineRunEffects& out) {
  if (!deleting_ || erasing_ || !deleting_jobs_.empty()) return;
  erasing_ = true;
  out.push_back(pipeline_run_effect::EraseRecord{});
}

PipelineRunEffects PipelineRunStateMachine::on_erased(const Status& status) {
  PipelineRunEffects out;
  erasing_ = false;
  // Forgotten by the manager before the client hears (as a job is).
  if (status.ok()) out.push_back(pipeline_run_effect::Stop{});
  out.push_back(pipeline_run_effect::AnswerDelete{delete_requests_, status});
  delete_requests_.clear();
  return out;
}

}  // namespace cadre::actors

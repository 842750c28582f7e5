#include "actors/job_state_machine.h"

#include <algorithm>

#include "protocol/codec.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {

using protocol::ConditionStatus;
using protocol::ConditionType;
using protocol::EventType;
using protocol::JobPhase;
using protocol::ReplicaState;
using Verdict = ExitDecision::Verdict;
namespace reason = protocol::reason;

JobStateMachine::JobStateMachine(JobRecord record, spec::TrainJobSpec spec,
                                 JobMachineOptions options)
    : rec_(std::move(record)),
      spec_(std::move(spec)),
      options_(std::move(options)),
      writes_(options_.policy.store_retry) {
  if (!options_.now_ms) options_.now_ms = wall_ms;
  if (rec_.status.replicas.empty()) rec_.status.replicas = initial_replicas(spec_);
  confirmed_.assign(replicas().size(), true);
  rec_.status.priority = spec_.run_policy.scheduling.priority;
  rec_.status.queue = spec_.run_policy.scheduling.queue;
  rec_.status.ns = spec_.metadata.ns;  // also for records stored before the field existed
}

// ---- queries ---------------------------------------------------------------

std::optional<size_t> JobStateMachine::find_uid(const std::string& uid) const {
  for (size_t i = 0; i < replicas().size(); ++i) {
    if (replicas()[i].uid == uid) return i;
  }
  return std::nullopt;
}

bool JobStateMachine::none_alive() const {
  return std::none_of(replicas().begin(), replicas().end(),
                      [](const ReplicaStatus& r) { return protocol::is_alive(r.state); });
}

bool JobStateMachine::all_up() const {
  return std::all_of(replicas().begin(), replicas().end(), [](const ReplicaStatus& r) {
    return r.state == ReplicaState::kRunning || r.state == ReplicaState::kSucceeded;
  });
}

bool JobStateMachine::batch() const {
  const std::string& owner = rec_.status.owner;
  return owner.rfind("inferenceservice/", 0) != 0 && owner.rfind("notebook/", 0) != 0;
}

int64_t JobStateMachine::grace_ms(const ReplicaStatus& r) const {
  const auto& g = spec_of(r).tmpl.termination_grace_seconds;
  return g ? *g * 1000 : options_.policy.kill_grace.count();
}

protocol::JobStatus JobStateMachine::status() const {
  protocol::JobStatus st = rec_.status;
  // The summary fields older clients read, and the per-type counts.
  st.replica_statuses.clear();
  for (const auto& r : st.replicas) {
    auto& counts = st.replica_statuses[r.type];
    if (protocol::is_alive(r.state)) counts.active++;
    if (r.state == ReplicaState::kSucceeded) counts.succeeded++;
    if (r.state == ReplicaState::kFailed) counts.failed++;
  }
  if (!st.replicas.empty()) {
    st.node = st.replicas.front().node;
    st.replica = st.replicas.front().uid;
  }
  return st;
}

protocol::JobStatus JobStateMachine::summary() const {
  protocol::JobStatus st = status();
  st.manifest.clear();  // the manager's cache holds summaries only
  return st;
}

ReplicaLocation JobStateMachine::locate(const std::string& replica) const {
  const ReplicaStatus* r = nullptr;
  if (replica.empty()) {
    // The replica whose exit decides the job (chief, master, launcher, else rank 0).
    for (const char* leader : {"Main", "Chief", "Master", "Launcher", "Worker"}) {
      for (const auto& x : replicas()) {
        if (r == nullptr && x.type == leader && x.index == 0) r = &x;
      }
    }
    if (r == nullptr && !replicas().empty()) r = &replicas().front();
  } else {
    for (const auto& x : replicas()) {
      if (x.name == replica) r = &x;
    }
  }
  ReplicaLocation loc;
  if (r == nullptr) return loc;
  loc.exists = true;
  loc.found = !r->node.empty() && !r->uid.empty();
  loc.node = r->node;
  loc.epoch = r->epoch;
  loc.uid = r->uid;
  // A replica still Pending when its job has ended will never start: its (empty)
  // log is finished, so a follower stops instead of waiting for it forever.
  loc.finished = !protocol::is_alive(r->state) &&
                 (r->state != ReplicaState::kPending || protocol::is_terminal(rec_.status.phase));
  return loc;
}

// ---- durability --------------------------------------------------------------

void JobStateMachine::persist(JobEffects& out, std::vector<Deferred> then) {
  then.insert(then.begin(), Publish{});
  out.push_back(job_effect::Persist{writes_.write(std::move(then))});
}

JobEffects JobStateMachine::on_stored(uint64_t seq, const Status& status) {
  JobEffects out;
  if (status.ok()) {
    bool published = false;
    for (const auto& d : writes_.stored(seq)) {
      if (std::holds_alternative<Publish>(d)) {
        if (published) continue;  // one summary per release is enough: it is the latest
        published = true;
      }
      run_deferred(out, d);
    }
    return out;
  }
  const auto failure = writes_.failed(seq);
  if (failure.superseded) return out;
  if (failure.give_up) {
    give_up_on_store(out, status);
  } else if (failure.failures <= writes_.retry_limit()) {
    event(out, EventType::kWarning, reason::kStoreRetry,
          "state not stored (" + status.message() + "); retry " + std::to_string(failure.failures) +
              " of " + std::to_string(writes_.retry_limit()));
  }
  if (failure.retry_in) {
    out.push_back(
        job_effect::StartTimer{*failure.retry_in, JobTimer{JobTimer::Kind::kStoreRetry, ""}});
  }
  return out;
}

JobIdentity JobStateMachine::identity() const {
  const auto& root = options_.policy.checkpoint_root;
  // A trial's jobs share its folder (JobStatus.checkpoint_name), so a promotion resumes.
  const std::string& folder =
      rec_.status.checkpoint_name.empty() ? name() : rec_.status.checkpoint_name;
  return JobIdentity{name(),
                     spec_.metadata.ns,
                     rec_.token,
                     root.empty() ? "" : root + "/" + spec_.metadata.ns + "/" + folder,
                     root,
                     rec_.status.created_ms,
                     rec_.status.metrics_collection,
                     rec_.status.readiness_path};
}

void JobStateMachine::run_deferred(JobEffects& out, const Deferred& d) {
  if (const auto* l = std::get_if<LaunchIfCurrent>(&d)) {
    const auto& r = replicas()[l->index];
    if (r.uid != l->uid || r.state != ReplicaState::kStarting) return;
    out.push_back(
        job_effect::Launch{r.node, r.epoch, make_launch(spec_, replicas(), l->index, identity())});
    // An agent answers a launch at once (ReplicaStarted after its fork, or a
    // failure); one that dropped it (an epoch it had just left behind) says
    // nothing, so silence past lost_after places the replica again.
    out.push_back(job_effect::StartTimer{options_.policy.lost_after,
                                         JobTimer{JobTimer::Kind::kLaunchUnanswered, r.uid}});
  } else if (const auto* a = std::get_if<AckIfStored>(&d)) {
    out.push_back(job_effect::AckExit{a->node, a->epoch, a->uid});
  } else if (std::holds_alternative<FinishDeleteIfDone>(d)) {
    if (deleting_ && none_alive()) complete_delete(out);
  } else if (std::holds_alternative<Publish>(d)) {
    out.push_back(job_effect::PublishSummary{});
  } else if (const auto* s = std::get_if<AnswerSuspendIfStored>(&d)) {
    out.push_back(
        job_effect::AnswerSuspend{s->request, Status::Ok(), s->changed, rec_.status.phase});
  }
}

// The store refused every retry: nothing held back may happen now. Launches never
// sent are abandoned (their replicas never ran), exits stay unacknowledged (agents
// resend them), and the job fails with the reason; its replicas are stopped.
void JobStateMachine::give_up_on_store(JobEffects& out, const Status& status) {
  writes_.keep_only(
      [](const Deferred& d) { return std::holds_alternative<FinishDeleteIfDone>(d); });
  for (auto& r : replicas()) {
    if (r.state != ReplicaState::kStarting) continue;
    r.state = ReplicaState::kFailed;
    r.reason = reason::kStoreUnavailable;
    out.push_back(job_effect::Release{slot_key(r)});
  }
  const std::string message = "the coordinator could not store the job's state after " +
                              std::to_string(writes_.retry_limit()) +
                              " retries: " + status.message();
  if (!protocol::is_terminal(rec_.status.phase)) {
    finish(out, JobPhase::kFailed, reason::kStoreUnavailable, message, /*kill_all=*/true);
  }
  // Tell readers now: this job's state may not survive a restart.
  out.push_back(job_effect::PublishSummary{});
}

// ---- small transitions ---------------------------------------------------------

void JobStateMachine::event(JobEffects& out, EventType type, const std::string& why,
                            const std::string& message) {
  out.push_back(job_effect::RecordEvent{protocol::JobEvent{now(), type, why, message}});
}

// Kubeflow-style conditions: one entry per type; Queued, Running, Restarting and
// Suspended exclude each other, and a finished job has none of them True.
void JobStateMachine::set_condition(ConditionType type, const std::string& why,
                                    const std::string& message) {
  auto& conditions = rec_.status.conditions;
  const bool finished = type == ConditionType::kSucceeded || type == ConditionType::kFailed;
  for (auto& c : conditions) {
    const bool exclusive = c.type == ConditionType::kQueued || c.type == ConditionType::kRunning ||
                           c.type == ConditionType::kRestarting ||
                           c.type == ConditionType::kSuspended;
    if (c.type != type && c.status == ConditionStatus::kTrue && (exclusive || finished) &&
        c.type != ConditionType::kCreated) {
      c.status = ConditionStatus::kFalse;
      c.last_transition_ms = now();
    }
  }
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const auto& c) { return c.type == type; });
  const protocol::JobCondition condition{type, ConditionStatus::kTrue, why, message, now()};
  if (it == conditions.end()) {
    conditions.push_back(condition);
  } else {
    *it = condition;
  }
}

void JobStateMachine::set_phase(JobPhase phase, const std::string& why,
                                const std::string& message) {
  rec_.status.phase = phase;
  rec_.status.reason = why;
  rec_.status.message = message;
  set_condition(protocol::condition_of(phase), why, message);
}

// Sends the kill and marks the replica Terminating; if its end is never reported
// (its node went silent) a timer declares it gone once the lease has surely killed it.
void JobStateMachine::terminate(JobEffects& out, ReplicaStatus& r, const std::string& why) {
  if (!protocol::is_alive(r.state)) return;
  r.state = ReplicaState::kTerminating;
  r.ready = false;  // asked to stop: no new requests are its to take
  out.push_back(job_effect::Kill{r.node, r.epoch, protocol::KillReplica{r.uid, grace_ms(r), why}});
  const auto wait = std::chrono::milliseconds(grace_ms(r)) + options_.policy.lost_after;
  out.push_back(job_effect::StartTimer{wait, JobTimer{JobTimer::Kind::kKillUnanswered, r.uid}});
}

// A new instance of a replica: a fresh uid, so the agent's folder, log and any
// late report of the old instance stay apart.
void JobStateMachine::new_instance(ReplicaStatus& r) {
  r.uid = replica_uid(name(), rec_.status.created_ms, r.name, rec_.attempts++);
  r.state = ReplicaState::kStarting;
  r.started_ms = 0;
  r.ready = false;
  r.readiness_message.clear();
}

int64_t JobStateMachine::deadline_due_ms() const {
  const int64_t since = std::max(rec_.status.created_ms, rec_.status.resumed_ms);
  return since + spec_.run_policy.active_deadline_seconds.value_or(0) * 1000;
}

// Paused while suspended; resume arms it afresh.
void JobStateMachine::arm_deadline(JobEffects& out) {
  const auto phase = rec_.status.phase;
  if (!spec_.run_policy.active_deadline_seconds || protocol::is_terminal(phase) ||
      phase == JobPhase::kSuspended) {
    return;
  }
  const int64_t due = deadline_due_ms();
  out.push_back(job_effect::StartTimer{std::chrono::milliseconds(std::max<int64_t>(0, due - now())),
                                       JobTimer{JobTimer::Kind::kDeadline, ""}});
}

void JobStateMachine::arm_ttl(JobEffects& out) {
  const auto& ttl = spec_.run_policy.ttl_seconds_after_finished;
  if (!ttl) return;
  const int64_t due = rec_.status.finished_ms + *ttl * 1000;
  out.push_back(job_effect::StartTimer{std::chrono::milliseconds(std::max<int64_t>(0, due - now())),
                                       JobTimer{JobTimer::Kind::kExpire, ""}});
}

// ---- lifecycle ------------------------------------------------------------------

JobEffects JobStateMachine::create() {
  JobEffects out;
  set_condition(ConditionType::kCreated, reason::kCreated, "job created");
  if (spec_.run_policy.suspend) {
    suspend(out, "created suspended: nothing is placed until cadre resume " + ref());
    persist(out);
    return out;
  }
  set_condition(ConditionType::kQueued, reason::kQueued, "waiting for the whole gang to fit");
  request_placement(out);
  arm_deadline(out);
  out.push_back(job_effect::PublishSummary{});
  return out;
}

// After a coordinator restart: hold what placed instances hold and wait for their
// nodes to report them; place again what was waiting.
JobEffects JobStateMachine::restore() {
  JobEffects out;
  // Created suspended, and never resumed (resume sets resumed_ms): it still is, even
  // if the coordinator stopped before that phase was stored.
  if (spec_.run_policy.suspend && rec_.status.resumed_ms == 0 &&
      rec_.status.phase == JobPhase::kQueued) {
    set_phase(JobPhase::kSuspended, reason::kSuspended,
              "created suspended: nothing is placed until cadre resume " + ref());
    persist(out);
  }
  bool any_alive = false;
  for (size_t i = 0; i < replicas().size(); ++i) {
    auto& r = replicas()[i];
    if (!protocol::is_alive(r.state)) continue;
    any_alive = true;
    confirmed_[i] = false;
    out.push_back(job_effect::Reserve{slot_key(r), r.node, spec_of(r).tmpl.resources, r.gpu_indices,
                                      r.port, spec_.run_policy.scheduling.priority, batch(),
                                      spec_.run_policy.scheduling.queue});
    out.push_back(job_effect::StartTimer{options_.policy.lost_after,
                                         JobTimer{JobTimer::Kind::kReportMissing, r.uid}});
  }
  if (protocol::is_terminal(rec_.status.phase)) {
    arm_ttl(out);
  } else if (!any_alive && rec_.status.phase != JobPhase::kSuspended) {
    place_gang_again(out);
  }
  arm_deadline(out);
  out.push_back(job_effect::PublishSummary{});
  return out;
}

// The job is over: record why and stop what cleanPodPolicy says to stop.
void JobStateMachine::finish(JobEffects& out, JobPhase phase, const std::string& why,
                             const std::string& message, bool kill_all) {
  set_phase(phase, why, message);
  rec_.status.finished_ms = now();
  event(out, phase == JobPhase::kSucceeded ? EventType::kNormal : EventType::kWarning, why,
        message);
  out.push_back(job_effect::CancelPlacement{});
  if (kill_all || spec_.run_policy.clean_pod_policy != spec::CleanPodPolicy::kNone) {
    for (auto& r : replicas()) terminate(out, r, "job " + protocol::to_string(phase));
  }
  arm_ttl(out);
}

void JobStateMachine::mark_up(JobEffects& out, const std::string& why, const std::string& message) {
  if (rec_.status.started_ms == 0) rec_.status.started_ms = now();
  port_retries_ = 0;
  set_phase(JobPhase::kRunning, why, message);
  event(out, EventType::kNormal, why, message);
}

JobEffects JobStateMachine::on_started(const std::string& node,
                                       const protocol::ReplicaStarted& started) {
  JobEffects out;
  auto i = find_uid(started.uid);
  if (!i || replicas()[*i].node != node) return out;
  auto& r = replicas()[*i];
  confirmed_[*i] = true;
  if (r.state != ReplicaState::kStarting) return out;
  r.state = ReplicaState::kRunning;
  r.started_ms = started.started_ms ? started.started_ms : now();
  const auto phase = rec_.status.phase;
  if (all_up() && (phase == JobPhase::kQueued || phase == JobPhase::kRestarting)) {
    mark_up(out, reason::kStarted,
            replicas().size() == 1
                ? "replica " + r.name + " pid " + std::to_string(started.pid) + " on " + node
                : "all " + std::to_string(replicas().size()) + " replicas running");
  }
  persist(out);
  return out;
}

JobEffects JobStateMachine::on_readiness(const std::string& node,
                                         const protocol::ReplicaReadiness& readiness) {
  JobEffects out;
  auto i = find_uid(readiness.uid);
  if (!i || replicas()[*i].node != node || !protocol::is_alive(replicas()[*i].state)) return out;
  auto& r = replicas()[*i];
  if (r.ready == readiness.ready && r.readiness_message == readiness.message) return out;
  r.ready = readiness.ready;
  r.readiness_message = readiness.ready ? "" : readiness.message;
  persist(out);
  return out;
}

JobEffects JobStateMachine::on_metrics(const protocol::MetricsReport& report_in) {
  JobEffects out;
  if (!find_uid(report_in.uid) || report_in.samples.empty()) return out;
  // A job may report at most max_metric_names distinct names; more are dropped,
  // with one Warning event, so it cannot grow the store without end.
  protocol::MetricsReport report{report_in.uid, report_in.job, {}};
  for (const auto& sample : report_in.samples) {
    const bool known = metric_names_.count(sample.name) > 0;
    if (!known && static_cast<int>(metric_names_.size()) >= options_.policy.max_metric_names) {
      if (!warned_metric_names_) {
        warned_metric_names_ = true;
        event(out, EventType::kWarning, reason::kMetricsDropped,
              "more than " + std::to_string(options_.policy.max_metric_names) +
                  " metric names; samples of " + spec::quote_value(sample.name) +
                  " and any further names are dropped");
      }
      continue;
    }
    metric_names_.insert(sample.name);
    report.samples.push_back(sample);
  }
  if (report.samples.empty()) return out;
  // The job's headline metrics are its leader's (rank 0 prints them for cadre-train).
  if (report.uid == locate("").uid || replicas().size() == 1) {
    for (const auto& sample : report.samples) rec_.status.metrics[sample.name] = sample.value;
    out.push_back(job_effect::PublishSummary{});
    if (!rec_.status.owner.empty()) out.push_back(job_effect::ForwardMetrics{report.samples});
  }
  out.push_back(job_effect::StoreMetrics{report.uid, report.samples});
  return out;
}

JobEffects JobStateMachine::on_logged_metrics(const std::vector<protocol::MetricSample>& samples) {
  const std::string leader = locate("").uid;
  if (leader.empty()) return {};
  return on_metrics(protocol::MetricsReport{leader, rec_.status.name, samples});
}

// The node (re)registered, reporting which of our instances it still runs.
JobEffects JobStateMachine::on_node_report(const NodeReport& report) {
  JobEffects out;
  for (const auto& uid : report.running) {
    auto i = find_uid(uid);
    if (!i || replicas()[*i].node != report.node || !protocol::is_alive(replicas()[*i].state)) {
      out.push_back(job_effect::Kill{report.node, report.epoch,
                                     protocol::KillReplica{uid, 0, "stale replica"}});
    }
  }
  bool changed = false;
  for (size_t i = 0; i < replicas().size(); ++i) {
    auto& r = replicas()[i];
    if (r.node != report.node || !protocol::is_alive(r.state)) continue;
    r.epoch = report.epoch;
    if (report.running.count(r.uid) == 0) {
      // The exit may still be on its way: agents resend exits after registering.
      confirmed_[i] = false;
      out.push_back(job_effect::StartTimer{options_.policy.heartbeat_interval * 3,
                                           JobTimer{JobTimer::Kind::kReportMissing, r.uid}});
      continue;
    }
    confirmed_[i] = true;
    changed = true;
    if (r.state == ReplicaState::kTerminating) {
      terminate(out, r, "stopping");  // the kill may have been lost with the old epoch
      continue;
    }
    if (r.state == ReplicaState::kStarting) {
      r.state = ReplicaState::kRunning;
      r.started_ms = now();
    }
    event(out, EventType::kNormal, reason::kAdopted,
          "replica " + r.name + " (" + r.uid + ") still running on " + report.node + " (epoch " +
              std::to_string(report.epoch) + ")");
  }
  if (!changed) return out;
  if (rec_.status.phase == JobPhase::kQueued && all_up()) {
    if (rec_.status.started_ms == 0) rec_.status.started_ms = now();
    set_phase(JobPhase::kRunning, reason::kAdopted, "replicas adopted after a restart");
  }
  persist(out);
  return out;
}

JobEffects JobStateMachine::on_timer(const JobTimer& timer) {
  using Kind = JobTimer::Kind;
  JobEffects out;
  switch (timer.kind) {
    case Kind::kKillUnanswered: {
      auto i = find_uid(timer.uid);
      if (!i || replicas()[*i].state != ReplicaState::kTerminating) return out;
      return end_unreported(*i, reason::kReplicaLost, "no exit reported after the kill");
    }
    case Kind::kReportMissing: {
      auto i = find_uid(timer.uid);
      if (!i || confirmed_[*i] || !protocol::is_alive(replicas()[*i].state)) return out;
      const auto& r = replicas()[*i];
      const bool never_ran = r.state == ReplicaState::kStarting;
      return end_unreported(*i, never_ran ? reason::kLaunchLost : reason::kReplicaLost,
                            "not reported by node " + r.node);
    }
    case Kind::kLaunchUnanswered: {
      auto i = find_uid(timer.uid);
      if (!i || replicas()[*i].state != ReplicaState::kStarting) return out;
      return end_unreported(*i, reason::kLaunchLost,
                            "node " + replicas()[*i].node + " never answered its launch");
    }
    case Kind::kDeadline:
      // A timer armed before a suspension is stale: resume armed a later one.
      if (protocol::is_terminal(rec_.status.phase) || rec_.status.phase == JobPhase::kSuspended ||
          now() < deadline_due_ms()) {
        return out;
      }
      finish(out, JobPhase::kFailed, reason::kDeadlineExceeded,
             "active deadline of " + std::to_string(*spec_.run_policy.active_deadline_seconds) +
                 "s exceeded",
             /*kill_all=*/true);
      persist(out);
      return out;
    case Kind::kExpire:
      if (!protocol::is_terminal(rec_.status.phase) || deleting_) return out;
      event(out, EventType::kNormal, reason::kExpired,
            "ttlSecondsAfterFinished passed; deleting the job");
      start_delete(out);
      return out;
    case Kind::kDeleteTimeout:
      complete_delete(out);
      return out;
    case Kind::kStoreRetry:
      // Deferred work stays queued; this write, when it succeeds, releases it.
      if (writes_.retry_due()) persist(out);
      return out;
  }
  return out;
}

JobEffects JobStateMachine::on_stop(const std::string& why, const std::string& message) {
  JobEffects out;
  if (protocol::is_terminal(rec_.status.phase) || deleting_) return out;
  finish(out, JobPhase::kFailed, why, message, /*kill_all=*/true);
  persist(out);
  return out;
}

}  // namespace cadre::actors

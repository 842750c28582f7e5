#include "actors/notebook_state_machine.h"

#include <algorithm>
#include <filesystem>

#include "protocol/spec/manifest.h"
#include "protocol/spec/notebook_spec.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {

using protocol::EventType;
using protocol::JobPhase;
using protocol::NotebookPhase;
namespace reason = protocol::reason;

namespace {

int64_t backoff_ms(const NotebookMachineOptions& o, int32_t failures) {
  auto delay = o.failure_backoff;
  for (int32_t k = 1; k < failures && delay < o.failure_backoff_max; ++k) delay *= 2;
  return std::min(delay, o.failure_backoff_max).count();
}

std::string workspace_of(const spec::NotebookSpec& spec, const std::string& checkpoint_root) {
  if (!spec.workspace_path.empty()) return spec.workspace_path;
  return (std::filesystem::path(checkpoint_root) / spec.metadata.ns /
          notebook_folder(spec.metadata.name))
      .string();
}

Result<spec::NotebookSpec> parse(const std::string& manifest) {
  ASSIGN_OR_RETURN(auto parsed, spec::parse_manifest(manifest, spec::ManifestLimits::none()));
  if (!parsed.notebook) return InvalidArgument("not a Notebook");
  return *parsed.notebook;
}

// Whether two specs run the same server (stopped and culling do not matter).
bool same_server(const spec::NotebookSpec& a, const spec::NotebookSpec& b) {
  const auto& x = a.replica;
  const auto& y = b.replica;
  auto env = [](const spec::ReplicaTemplate& t) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : t.env) out.emplace_back(e.name, e.value);
    return out;
  };
  return x.command == y.command && x.args == y.args && env(x) == env(y) &&
         x.working_dir == y.working_dir && x.resources.cpu_millis == y.resources.cpu_millis &&
         x.resources.memory_bytes == y.resources.memory_bytes &&
         x.resources.gpus == y.resources.gpus &&
         x.termination_grace_seconds == y.termination_grace_seconds &&
         a.workspace_path == b.workspace_path;
}

}  // namespace

NotebookRecord NotebookStateMachine::first_record(const NotebookApply& apply, std::string token,
                                                  int64_t now_ms) {
  NotebookRecord rec;
  auto& s = rec.status;
  s.name = apply.spec.metadata.name;
  s.ns = apply.spec.metadata.ns;
  s.manifest = apply.manifest;
  s.created_ms = now_ms;
  s.phase = apply.spec.stopped ? NotebookPhase::kStopped : NotebookPhase::kPending;
  s.reason = apply.spec.stopped ? reason::kNotebookStopped : "";
  rec.token = std::move(token);
  return rec;
}

Result<std::unique_ptr<NotebookStateMachine>> NotebookStateMachine::Create(
    NotebookRecord record, NotebookMachineOptions options) {
  ASSIGN_OR_RETURN(auto spec, parse(record.status.manifest));
  if (!options.now_ms) options.now_ms = [] { return wall_ms(); };
  return std::unique_ptr<NotebookStateMachine>(
      new NotebookStateMachine(std::move(record), std::move(options), std::move(spec)));
}

NotebookStateMachine::NotebookStateMachine(NotebookRecord record, NotebookMachineOptions options,
                                           spec::NotebookSpec spec)
    : rec_(std::move(record)),
      options_(std::move(options)),
      spec_(std::move(spec)),
      writes_(options_.store_retry) {
  st().gpus = spec_.replica.resources.gpus;
  st().idle_culling_minutes = spec_.idle_culling_minutes;
  st().workspace = workspace_of(spec_, options_.checkpoint_root);
}

protocol::NotebookStatus NotebookStateMachine::summary() const {
  auto s = st();
  s.manifest.clear();
  s.events.clear();
  return s;
}

protocol::NotebookRoute NotebookStateMachine::route() const {
  protocol::NotebookRoute r;
  r.name = name();
  r.ns = st().ns;
  r.phase = st().phase;
  r.reason = st().reason;
  r.message = st().message;
  r.ready = st().ready;
  r.address = st().address;
  r.port = st().port;
  r.job = st().job;
  r.token = rec_.token;
  return r;
}

std::string NotebookStateMachine::render_job(const std::string& job) const {
  return render_server_job(job, spec_, job_context());
}

std::string NotebookStateMachine::render_purge_job(const std::string& job) const {
  return actors::render_purge_job(job, job_context(), options_.purge_timeout);
}

NotebookJobContext NotebookStateMachine::job_context() const {
  return {name(), st().ns, st().workspace, options_.client_endpoint, options_.server_public_key};
}

// ---- durability ------------------------------------------------------------------

void NotebookStateMachine::persist(NotebookEffects& out, std::vector<Deferred> then) {
  // Once a delete has begun nothing is written: a write landing after the erase
  // would bring the notebook back.
  if (erasing_) return;
  then.emplace_back(std::in_place_type<Publish>);
  out.push_back(notebook_effect::Persist{writes_.write(std::move(then))});
}

NotebookEffects NotebookStateMachine::on_stored(uint64_t seq, const Status& status) {
  NotebookEffects out;
  if (status.ok()) {
    for (const auto& d : writes_.stored(seq)) run_deferred(out, d);
    return out;
  }
  const auto failure = writes_.failed(seq);
  if (failure.superseded) return out;
  if (failure.give_up) {
    event(out, EventType::kWarning, reason::kStoreUnavailable,
          "the store refused " + std::to_string(failure.failures) +
              " writes; the server starts once it takes them: " + status.message());
  }
  if (failure.retry_in) out.push_back(notebook_effect::StartTimer{*failure.retry_in});
  return out;
}

void NotebookStateMachine::run_deferred(NotebookEffects& out, const Deferred& d) {
  if (std::holds_alternative<Publish>(d)) {
    out.push_back(notebook_effect::PublishSummary{});
  } else if (const auto* a = std::get_if<Answer>(&d)) {
    out.push_back(notebook_effect::AnswerApply{a->request, Status::Ok(), "configured"});
  } else {
    const auto& job = std::get<CreateIfWanted>(d).job;
    if (job != st().job || creating_ || deleting_ || deleting_job_ == job) return;
    creating_ = true;
    out.push_back(notebook_effect::CreateJob{job, render_job(job), st().node});
  }
}

void NotebookStateMachine::event(NotebookEffects& out, EventType type, const std::string& why,
                                 const std::string& message) {
  out.push_back(notebook_effect::RecordEvent{protocol::JobEvent{now(), type, why, message}});
}

void NotebookStateMachine::set_phase(NotebookPhase phase, const std::string& why,
                                     const std::string& message) {
  st().phase = phase;
  st().reason = why;
  st().message = message;
}

// ---- the server's lifecycle --------------------------------------------------------

void NotebookStateMachine::clear_server() {
  st().job.clear();
  st().ready = false;
  st().address.clear();
  st().port = 0;
  st().gpu_indices.clear();
  st().started_ms = 0;
}

void NotebookStateMachine::reconcile(NotebookEffects& out) {
  if (deleting_) {
    if (!st().job.empty() && deleting_job_.empty() && !creating_) {
      deleting_job_ = st().job;
      out.push_back(notebook_effect::DeleteJob{st().job});
    } else if (st().job.empty() && purge_ && !purged_) {
      if (purge_job_.empty() && deleting_job_.empty()) purge_workspace(out);
    } else if (st().job.empty() && deleting_job_.empty() && !erasing_) {
      erasing_ = true;
      out.push_back(notebook_effect::EraseRecord{});
    }
    return;
  }
  if (spec_.stopped || restart_) {
    if (!st().job.empty()) return stop_server(out);
    restart_ = false;
    if (spec_.stopped) {
      if (st().phase != NotebookPhase::kStopped) {
        set_phase(NotebookPhase::kStopped,
                  stop_reason_.empty() ? reason::kNotebookStopped : stop_reason_,
                  "its server is stopped; its workspace is kept");
        st().stopped_ms = now();
      }
      return;
    }
  }
  if (!st().job.empty() || backing_off_) return;
  // A new server.
  st().jobs_started++;
  st().job = name() + "-" + std::to_string(st().jobs_started);
  stop_reason_.clear();
  set_phase(NotebookPhase::kPending, "",
            st().node.empty() ? "its server is starting"
                              : "its server is starting on " + st().node + " (its workspace)");
  persist(out, {CreateIfWanted{st().job}});
}

void NotebookStateMachine::stop_server(NotebookEffects& out) {
  if (!deleting_job_.empty() || creating_) return;  // on its way; reconciled when it answers
  deleting_job_ = st().job;
  st().ready = false;
  if (spec_.stopped) {
    set_phase(NotebookPhase::kStopping,
              stop_reason_.empty() ? reason::kNotebookStopped : stop_reason_,
              "its server is stopping; its workspace is kept");
  }
  out.push_back(notebook_effect::DeleteJob{deleting_job_});
}

// The current server ended (exited, failed to start, or was deleted by someone
// else): it is started again after a back-off that grows while it keeps ending.
void NotebookStateMachine::server_ended(NotebookEffects& out, const std::string& why) {
  const bool was_ready = st().ready;
  clear_server();
  st().restarts++;
  st().recent_failures = was_ready ? 1 : st().recent_failures + 1;
  const int64_t wait = backoff_ms(options_, st().recent_failures);
  set_phase(NotebookPhase::kPending,
            st().recent_failures > 2 ? reason::kCrashLoopBackOff : reason::kServerExited,
            why + "; starting it again in " + std::to_string(wait / 1000) + " s");
  event(out, EventType::kWarning, reason::kServerExited, why);
  backing_off_ = true;
  out.push_back(notebook_effect::StartTimer{std::chrono::milliseconds(wait)});
}

NotebookEffects NotebookStateMachine::create() {
  NotebookEffects out;
  event(out, EventType::kNormal, reason::kCreated, "notebook created; workspace " + st().workspace);
  reconcile(out);
  persist(out);
  return out;
}

NotebookEffects NotebookStateMachine::restore(
    const std::map<std::string, protocol::JobStatus>& jobs) {
  NotebookEffects out;
  if (!st().job.empty()) {
    auto it = jobs.find(st().job);
    if (it == jobs.end()) {
      // Stored as wanted but never created (or deleted meanwhile): start again.
      clear_server();
    } else {
      const auto more = on_job_status(it->second);
      out.insert(out.end(), more.begin(), more.end());
    }
  }
  // Older servers' jobs that outlived a stop interrupted by the restart.
  for (const auto& [job, status] : jobs) {
    if (job != st().job && deleting_job_.empty()) {
      deleting_job_ = job;
      out.push_back(notebook_effect::DeleteJob{job});
    }
  }
  reconcile(out);
  persist(out);
  return out;
}

NotebookEffects NotebookStateMachine::on_apply(uint64_t request, const NotebookApply& apply) {
  NotebookEffects out;
  if (deleting_) {
    out.push_back(notebook_effect::AnswerApply{
        request, FailedPrecondition("notebook/" + name() + " is being deleted"), ""});
    return out;
  }
  if (apply.manifest == st().manifest) {
    out.push_back(notebook_effect::AnswerApply{request, Status::Ok(), "unchanged"});
    return out;
  }
  const bool restart = !same_server(spec_, apply.spec) && !st().job.empty() && !apply.spec.stopped;
  const bool stopping = apply.spec.stopped && !spec_.stopped;
  const bool starting = !apply.spec.stopped && spec_.stopped;
  spec_ = apply.spec;
  st().manifest = apply.manifest;
  st().gpus = spec_.replica.resources.gpus;
  st().idle_culling_minutes = spec_.idle_culling_minutes;
  st().workspace = workspace_of(spec_, options_.checkpoint_root);
  if (stopping) {
    stop_reason_ = reason::kNotebookStopped;
    // "Stopping" as its counterpart says "Starting": the "Stopped" event follows once
    // the server has ended.
    event(out, EventType::kNormal, "Stopping",
          "spec.stopped: its server stops; its workspace is kept");
  }
  if (starting) {
    st().recent_failures = 0;
    backing_off_ = false;
    event(out, EventType::kNormal, "Starting", "spec.stopped is false: its server starts");
  }
  if (restart) {
    restart_ = true;
    event(out, EventType::kNormal, "Restarting", "its template changed: its server restarts");
  }
  reconcile(out);
  persist(out, {Answer{request}});
  return out;
}

NotebookEffects NotebookStateMachine::on_job_created(const std::string& job, const Status& status) {
  NotebookEffects out;
  if (!job.empty() && job == purge_job_) {
    if (!status.ok()) purge_failed(out, "its purge job was not created: " + status.message());
    return out;
  }
  if (job != st().job) return out;
  creating_ = false;
  if (!status.ok()) {
    server_ended(out, "its server's job " + job + " was not created: " + status.message());
  }
  reconcile(out);  // a stop or delete that came meanwhile
  persist(out);
  return out;
}

NotebookEffects NotebookStateMachine::on_job_status(const protocol::JobStatus& job) {
  NotebookEffects out;
  if (!job.name.empty() && job.name == purge_job_ && !purged_ && protocol::is_terminal(job.phase)) {
    if (job.phase != JobPhase::kSucceeded) {
      // The failed job stays, for its log.
      purge_failed(out, "its purge job " + job.name + " " +
                            std::string(protocol::enum_name(job.phase)) + " (" + job.reason +
                            (job.message.empty() ? "" : ": " + job.message) + "; cadre logs job/" +
                            job.name + ")");
      return out;
    }
    purged_ = true;
    event(out, EventType::kNormal, "Purged",
          "its workspace " + st().workspace + " on " + st().node + " was removed");
    deleting_job_ = job.name;
    out.push_back(notebook_effect::DeleteJob{job.name});
    return out;
  }
  if (job.name != st().job || deleting_job_ == job.name) return out;
  auto& s = st();
  const bool was_ready = s.ready;
  const protocol::ReplicaStatus* replica = job.replicas.empty() ? nullptr : &job.replicas.front();
  if (s.node.empty() && replica != nullptr && !replica->node.empty()) {
    s.node = replica->node;
    event(out, EventType::kNormal, "Pinned",
          "placed on " + s.node + ": its workspace stays there, and so does every later server");
  }
  if (protocol::is_terminal(job.phase)) {
    const std::string detail = job.message.empty() ? job.reason : job.reason + ": " + job.message;
    deleting_job_ = job.name;  // the finished job goes; a new one starts after the back-off
    out.push_back(notebook_effect::DeleteJob{job.name});
    server_ended(out, "its server ended (" + detail + ")");
    persist(out);
    return out;
  }
  if (replica != nullptr) {
    s.address = replica->address;
    s.port = replica->port;
    s.gpu_indices = replica->gpu_indices;
    s.ready = replica->ready;
  }
  if (s.ready && !was_ready) {
    s.started_ms = now();
    s.recent_failures = 0;
    set_phase(NotebookPhase::kRunning, reason::kNotebookStarted,
              "its server answers on " + s.address + ":" + std::to_string(s.port));
    event(out, EventType::kNormal, reason::kNotebookStarted, s.message);
  } else if (!s.ready) {
    std::string why = job.phase == JobPhase::kQueued       ? "its server waits to be placed"
                      : job.phase == JobPhase::kRestarting ? "its server restarts"
                                                           : "its server is starting";
    if (job.phase == JobPhase::kQueued && !s.node.empty()) {
      why = "its server waits for " + s.node + ", the node with its workspace";
    }
    if (!job.message.empty()) why += " (" + job.message + ")";
    if (replica != nullptr && !replica->readiness_message.empty()) {
      why += " (" + replica->readiness_message + ")";
    }
    set_phase(NotebookPhase::kPending,
              job.phase == JobPhase::kQueued && !s.node.empty() ? reason::kWaitingForNode : "",
              why);
  }
  persist(out);
  return out;
}

NotebookEffects NotebookStateMachine::on_job_gone(const std::string& job) {
  NotebookEffects out;
  if (job == deleting_job_) return on_job_deleted(job, Status::Ok());
  if (job != st().job || creating_) return out;
  server_ended(out, "its server's job " + job + " was deleted");
  persist(out);
  return out;
}

NotebookEffects NotebookStateMachine::on_job_deleted(const std::string& job, const Status& status) {
  NotebookEffects out;
  if (job != deleting_job_) return out;
  deleting_job_.clear();
  if (!status.ok()) {
    event(out, EventType::kWarning, "StopFailed",
          "its server's job " + job + " was not deleted (trying again): " + status.message());
    out.push_back(notebook_effect::StartTimer{options_.failure_backoff});
    return out;
  }
  if (job == st().job) clear_server();
  if (spec_.stopped && st().job.empty() && !deleting_) {
    event(out, EventType::kNormal, stop_reason_.empty() ? reason::kNotebookStopped : stop_reason_,
          "its server stopped; its workspace " + st().workspace + " is kept");
  }
  reconcile(out);
  persist(out);
  return out;
}

NotebookEffects NotebookStateMachine::on_timer() {
  NotebookEffects out;
  if (!purge_job_.empty() && !purged_ && now() >= purge_deadline_ms_) {
    if (deleting_job_.empty()) {
      deleting_job_ = purge_job_;
      out.push_back(notebook_effect::DeleteJob{purge_job_});
    }
    purge_failed(out, "its node " + st().node + " did not run the purge within " +
                          std::to_string(options_.purge_timeout.count() / 1000) + " s");
    return out;
  }
  backing_off_ = false;
  writes_.retry_due();
  reconcile(out);
  persist(out);
  return out;
}

NotebookEffects NotebookStateMachine::on_activity(const protocol::NotebookActivity& activity) {
  NotebookEffects out;
  if (activity.job.empty() || activity.job != st().job || !st().ready || spec_.stopped ||
      deleting_ || restart_) {
    return out;
  }
  // A new server counts as active when it starts; a kernel executing is activity
  // now; a node clock ahead of ours is not allowed to postpone culling forever.
  int64_t last = std::max(activity.last_activity_ms, st().started_ms);
  if (activity.busy || last > now()) last = now();
  const bool changed = last != st().last_activity_ms;
  st().last_activity_ms = last;
  const int64_t idle = now() - last;
  if (spec_.idle_culling_minutes && !activity.busy &&
      idle >= *spec_.idle_culling_minutes * 60 * 1000) {
    cull(out, idle, activity);
    return out;
  }
  // Activity is shown, not stored: it changes every poll, and a restart only
  // makes the culler wait a little longer.
  if (changed) out.push_back(notebook_effect::PublishSummary{});
  return out;
}

void NotebookStateMachine::cull(NotebookEffects& out, int64_t idle_ms,
                                const protocol::NotebookActivity& seen) {
  auto manifest = spec::notebook_manifest_with_stopped(st().manifest, true);
  auto spec = manifest.ok() ? parse(*manifest) : Result<spec::NotebookSpec>(manifest.status());
  if (!spec.ok()) {
    // Not expected: the manifest parsed when it was applied. Said, not retried each poll.
    if (st().message.find("cannot be culled") == std::string::npos) {
      st().message += "; it cannot be culled: " + spec.status().message();
      event(out, EventType::kWarning, reason::kIdleCulled,
            "idle past its limit but cannot be stopped: " + spec.status().message());
      out.push_back(notebook_effect::PublishSummary{});
    }
    return;
  }
  spec_ = std::move(*spec);
  st().manifest = std::move(*manifest);
  stop_reason_ = reason::kIdleCulled;
  event(out, EventType::kNormal, reason::kIdleCulled,
        "no activity for " + std::to_string(idle_ms / 60000) + " min (idleCullingMinutes: " +
            std::to_string(*spec_.idle_culling_minutes) + "; its server has " +
            std::to_string(seen.kernels) + (seen.kernels == 1 ? " kernel" : " kernels") +
            ", none executing): its server stops, its workspace is kept; cadre notebook start " +
            name() + " starts it again");
  reconcile(out);
  persist(out);
}

NotebookEffects NotebookStateMachine::on_delete(uint64_t request, bool purge) {
  NotebookEffects out;
  if (purge && !spec_.workspace_path.empty()) {
    out.push_back(notebook_effect::AnswerDelete{
        {request},
        FailedPrecondition(
            "notebook/" + name() + " keeps its files in spec.workspace.path " +
            spec_.workspace_path +
            ", a folder Cadre did not make: --purge removes only a notebook's "
            "own folder; delete it without --purge and remove the folder yourself")});
    return out;
  }
  delete_requests_.push_back(request);
  purge_ = purge_ || purge;
  if (deleting_) return out;
  deleting_ = true;
  reconcile(out);
  return out;
}

void NotebookStateMachine::purge_workspace(NotebookEffects& out) {
  if (st().node.empty()) {
    // Never placed: no node ever made its folder.
    purged_ = true;
    return reconcile(out);
  }
  st().jobs_started++;
  purge_job_ = name() + "-purge-" + std::to_string(st().jobs_started);
  purge_deadline_ms_ = now() + options_.purge_timeout.count();
  event(out, EventType::kNormal, "Purging",
        "removing its workspace " + st().workspace + " on " + st().node + " (job " + purge_job_ +
            ")");
  out.push_back(notebook_effect::CreateJob{purge_job_, render_purge_job(purge_job_), st().node});
  out.push_back(notebook_effect::StartTimer{options_.purge_timeout});
  persist(out);
}

// The notebook stays as it was: the delete is answered with why, and its server
// starts again.
void NotebookStateMachine::purge_failed(NotebookEffects& out, const std::string& why) {
  const std::string message =
      "its workspace " + st().workspace + " on " + st().node + " was not removed: " + why;
  event(out, EventType::kWarning, "PurgeFailed", message);
  out.push_back(notebook_effect::AnswerDelete{
      delete_requests_, FailedPrecondition("notebook/" + name() + " is not deleted: " + message +
                                           "; it is kept, and its server starts again")});
  delete_requests_.clear();
  deleting_ = false;
  purge_ = false;
  purge_job_.clear();
  reconcile(out);
  persist(out);
}

NotebookEffects NotebookStateMachine::on_erased(const Status& status) {
  NotebookEffects out;
  if (!status.ok()) {
    erasing_ = false;
    out.push_back(notebook_effect::StartTimer{options_.failure_backoff});
    return out;
  }
  // Forgotten by the manager before the client hears (as a job is).
  out.push_back(notebook_effect::Stop{});
  out.push_back(notebook_effect::AnswerDelete{delete_requests_, Status::Ok()});
  delete_requests_.clear();
  return out;
}

}  // namespace cadre::actors

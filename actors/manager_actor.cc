// The manager: the coordinator's API. It validates and admits manifests, keeps a
// summary of every job (pushed by the job supervisors) to answer list queries
// without a fan-out, routes agent reports to the owning job, and relays log reads
// between clients and agents.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include "actors/job_page.h"
#include "actors/manager_state.h"
#include "protocol/peer_auth.h"
#include "protocol/spec/manifest.h"
#include "protocol/wall_clock.h"

namespace cadre::actors {
namespace {

using protocol::MessageKind;
using Self = ManagerSelf;

caf::actor spawn_for(Self* self, JobRecord record, spec::TrainJobSpec spec, bool restored) {
  const std::string name = record.status.name;
  auto actor =
      spawn_job(self->system(), self->state.ctx, std::move(record), std::move(spec), restored);
  self->state.jobs[name] = actor;
  return actor;
}

// "jobs" lists kind Job, "trainjobs" kind TrainJob; names are unique across both.
const char* resource_of(const std::string& kind) { return kind == "Job" ? "jobs" : "trainjobs"; }
bool workload(const std::string& resource) { return resource == "jobs" || resource == "trainjobs"; }
constexpr const char* kResources =
    "nodes, jobs, trainjobs, experiments, inferenceservices, tokens, pipelines, runs, "
    "recurringruns, notebooks";
// A job's shared secret (CADRE_JOB_TOKEN): 256 random bits from the system's
// CSPRNG, since every replica-to-replica channel of the job is keyed by it.
std::string new_token() { return protocol::new_job_token(); }

JobRecord new_record(const spec::Manifest& manifest, const std::string& text) {
  JobRecord record;
  record.status.name = manifest.metadata.name;
  record.status.kind = manifest.kind;
  record.status.ns = manifest.metadata.ns;
  record.status.phase = protocol::JobPhase::kQueued;
  record.status.reason = protocol::reason::kCreated;
  record.status.created_ms = wall_ms();
  record.status.manifest = text;
  record.token = new_token();
  return record;
}

// Parses manifests for the manager, so that reading a large or hostile one (up to
// max-manifest-bytes, aliases and nesting bounded while it is read) runs on another
// scheduler thread and never holds up the answers to other clients.
caf::behavior parser(caf::event_based_actor*) {
  return {[](parse_atom, const std::string& text, int64_t max_bytes) {
            spec::ManifestLimits limits;
            limits.max_bytes = static_cast<size_t>(max_bytes);
            auto manifest = spec::parse_manifest(text, limits);
            if (!manifest.ok()) return caf::make_message(manifest.status(), spec::Manifest{});
            return caf::make_message(Status::Ok(), std::move(*manifest));
          },
          [](parse_atom, suspend_atom, const std::string& before, const std::string& after) {
            return spec::differ_only_in_suspend(before, after);
          }};
}

void create(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
            const std::shared_ptr<const spec::Manifest>& manifest);

void apply(Self* self, const ClientRef& client, const protocol::ApplyRequest& request) {
  auto& st = self->state;
  self->request(st.parser, st.ctx.policy.request_timeout, parse_atom::value, request.manifest,
                st.ctx.policy.max_manifest_bytes)
      .then(
          [=](const Status& parsed, const spec::Manifest& manifest) {
            if (!parsed.ok()) return self->state.ctx.outbox->client_error(client, parsed);
            create(self, client, request, std::make_shared<const spec::Manifest>(manifest));
          },
          manager::answer_error(self, client, "the manifest parser"));
}

}  // namespace

namespace manager {

void create_job(Self* self, const std::shared_ptr<const spec::Manifest>& manifest,
                const std::string& text, JobOrigin origin) {
  auto& st = self->state;
  const std::string name = manifest->metadata.name;
  const std::string what = manager::job_ref(resource_of(manifest->kind), name);
  if (st.summary.count(name) || st.creating.count(name)) {
    auto job = st.jobs.find(name);
    if (job == st.jobs.end()) return origin.done(AlreadyExists(what + " is being created"), "");
    const caf::actor supervisor = job->second;
    self->request(supervisor, st.ctx.policy.request_timeout, get_atom::value)
        .then(
            [=](const protocol::JobStatus& status) {
              // Jobs are immutable once created (as in Kubernetes): the same text is a
              // no-op, a change of suspend alone suspends or resumes the job, any
              // other change is refused.
              if (status.manifest == text && status.owner == origin.owner) {
                return origin.done(Status::Ok(), "unchanged");
              }
              if (status.owner.empty() && origin.owner.empty() && status.kind == manifest->kind) {
                return manager::apply_suspend(self, supervisor, status, text,
                                              manifest->gang().run_policy.suspend, origin);
              }
              origin.done(manager::immutable(status), "");
            },
            [=](const caf::error& error) {
              origin.done(Unavailable("the supervisor of " + what +
                                      " did not answer: " + caf::to_string(error)),
                          "");
            });
    return;
  }
  JobRecord record = new_record(*manifest, text);
  record.status.owner = origin.owner;
  record.status.checkpoint_name = origin.checkpoint_name;
  record.status.metrics_collection = origin.metrics;
  record.status.readiness_path = origin.readiness_path;
  record.status.pinned_node = origin.pinned_node;
  if (!origin.token.empty()) record.token = origin.token;
  st.creating.insert(name);
  // Acknowledge only what is durable: the reply waits for the store.
  auto not_stored = [=](const Status& why) {
    self->state.creating.erase(name);
    origin.done(Unavailable(what + " not created: " + why.message()), "");
  };
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, record)
      .then(
          [=](const Status& stored) {
            if (!stored.ok()) return not_stored(stored);
            self->state.creating.erase(name);
            protocol::JobStatus summary = record.status;
            summary.manifest.clear();
            self->state.summary[name] = summary;
            spawn_for(self, record, manifest->gang(), false);
            self->send(self->state.ctx.store, event_atom::value, name,
                       protocol::JobEvent{wall_ms(), protocol::EventType::kNormal,
                                          protocol::reason::kCreated, "job created"});
            origin.done(Status::Ok(), "created");
          },
          [=](const caf::error& error) {
            not_stored(Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

}  // namespace manager

namespace {

void create(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
            const std::shared_ptr<const spec::Manifest>& manifest) {
  // A scoped key applies in its namespace only; pipelines are the cluster's.
  if (!client.ns.empty() && manifest->pipeline) {
    return self->state.ctx.outbox->client_error(
        client, PermissionDenied("pipelines belong to the whole cluster; a key scoped to "
                                 "namespace '" +
                                 client.ns + "' may run them, not change them"));
  }
  if (!manager::in_scope_namespace(self, client, manifest->metadata.ns,
                                   manifest->kind + "/" + manifest->metadata.name)) {
    return;
  }
  if (manifest->experiment) return manager::create_experiment(self, client, request, manifest);
  if (manifest->inference_service) return manager::apply_service(self, client, request, manifest);
  if (manifest->pipeline) return manager::apply_pipeline(self, client, request, manifest);
  if (manifest->pipeline_run) return manager::apply_run(self, client, request, manifest);
  if (manifest->recurring_run) {
    return manager::apply_recurring_run(self, client, request, manifest);
  }
  if (manifest->notebook) return manager::apply_notebook(self, client, request, manifest);
  const std::string kind = manifest->kind;
  const std::string name = manifest->metadata.name;
  manager::JobOrigin origin;
  origin.done = [=](const Status& status, const std::string& action) {
    if (!status.ok()) return self->state.ctx.outbox->client_error(client, status);
    self->state.ctx.outbox->client(client, MessageKind::kApplyReply,
                                   protocol::ApplyReply{kind, name, action});
  };
  manager::create_job(self, manifest, request.manifest, std::move(origin));
}

// One job: its supervisor's status with the stored events.
void get_job(Self* self, const ClientRef& client, const protocol::GetRequest& request) {
  auto job = manager::find_job(self, client, request.resource, request.name);
  if (!job) return;
  const auto timeout = self->state.ctx.policy.request_timeout;
  const std::string what = manager::job_ref(request.resource, request.name);
  self->request(*job, timeout, get_atom::value)
      .then(
          [=](protocol::JobStatus status) {
            self->request(self->state.ctx.store, timeout, events_atom::value, request.name)
                .then(
                    [=](const std::vector<protocol::JobEvent>& events) mutable {
                      status.events = events;
                      protocol::GetReply reply;
                      reply.jobs.push_back(std::move(status));
                      self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
                    },
                    manager::answer_error(self, client, "the store (events of " + what + ")"));
          },
          manager::answer_error(self, client, "the supervisor of " + what));
}

void get(Self* self, const ClientRef& client, const protocol::GetRequest& request) {
  auto& st = self->state;
  if (request.resource == "nodes") return manager::get_nodes(self, client, request.name);
  if (request.resource == "queues") return manager::get_queues(self, client, request.name);
  if (request.resource == "experiments") {
    return manager::get_experiments(self, client, request.name);
  }
  if (request.resource == "inferenceservices") {
    return manager::get_services(self, client, request.name);
  }
  if (request.resource == "tokens") return manager::get_tokens(self, client);
  if (request.resource == "pipelines") return manager::get_pipelines(self, client, request.name);
  if (request.resource == "runs") return manager::get_runs(self, client, request.name);
  if (request.resource == "recurringruns") {
    return manager::get_recurring_runs(self, client, request.name);
  }
  if (request.resource == "notebooks") return manager::get_notebooks(self, client, request.name);
  if (!workload(request.resource)) {
    return st.ctx.outbox->client_error(
        client, InvalidArgument("unknown resource '" + request.resource + "' (" + kResources +
                                ", queues)"));
  }
  if (!request.name.empty()) return get_job(self, client, request);
  // Lists come from the summaries the supervisors push: no fan-out.
  protocol::GetReply reply;
  if (request.limit > 0) {
    // A page (the HTTP API): chosen here, so 10,000 jobs cost one page on the wire.
    if (Status bad = check_page_request(request); !bad.ok()) {
      return st.ctx.outbox->client_error(client, bad);
    }
    reply.jobs = job_page(st.summary, request, client.ns);
    return st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  }
  for (const auto& [name, status] : st.summary) {
    if (resource_of(status.kind) == request.resource) reply.jobs.push_back(status);
  }
  std::sort(reply.jobs.begin(), reply.jobs.end(), [](const auto& a, const auto& b) {
    return std::tie(a.created_ms, a.name) < std::tie(b.created_ms, b.name);
  });
  st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
}

void remove(Self* self, const ClientRef& client, const protocol::DeleteRequest& request) {
  if (request.resource == "nodes") return manager::remove_node(self, client, request.name);
  if (request.resource == "experiments") {
    return manager::delete_experiment(self, client, request.name);
  }
  if (request.resource == "inferenceservices") {
    return manager::delete_service(self, client, request.name);
  }
  if (request.resource == "tokens") return manager::delete_token(self, client, request.name);
  if (request.resource == "pipelines") {
    return manager::delete_pipeline(self, client, request.name);
  }
  if (request.resource == "runs") return manager::delete_run(self, client, request.name);
  if (request.resource == "recurringruns") {
    return manager::delete_recurring_run(self, client, request.name);
  }
  if (request.resource == "notebooks") {
    return manager::delete_notebook(self, client, request.name, request.purge);
  }
  auto job = manager::find_job(self, client, request.resource, request.name);
  if (!job) return;
  // A delete waits for the replicas' grace period; the supervisor answers by then
  // (it gives up on replicas that never report), so this bound only catches a stuck actor.
  const auto& policy = self->state.ctx.policy;
  const auto timeout = policy.request_timeout + policy.kill_grace + policy.lost_after;
  const std::string what = manager::job_ref(request.resource, request.name);
  self->request(*job, timeout, delete_atom::value)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{request.name});
          },
          manager::answer_error(self, client, "the supervisor of " + what));
}

// A node registered: each job with replicas there (or reported by it) decides
// what to adopt and what to kill; replicas of unknown jobs are killed here.
void adopt(Self* self, const std::string& node, uint64_t epoch,
           const std::vector<protocol::ReplicaReport>& running) {
  auto& st = self->state;
  std::map<std::string, NodeReport> by_job;
  for (const auto& report : running) {
    if (st.jobs.count(report.job) == 0) {
      spdlog::warn("node={} runs replica {} of unknown job {}; killing it", node, report.uid,
                   report.job);
      st.ctx.outbox->agent(node, epoch, MessageKind::kKillReplica,
                           protocol::KillReplica{report.uid, 0, "no such job"});
      continue;
    }
    by_job[report.job].running.insert(report.uid);
  }
  for (const auto& [name, status] : st.summary) {
    const bool placed_here = std::any_of(status.replicas.begin(), status.replicas.end(),
                                         [&](const auto& r) { return r.node == node; });
    if (placed_here && by_job.count(name) == 0) by_job[name];
  }
  for (auto& [name, report] : by_job) {
    report.node = node;
    report.epoch = epoch;
    self->send(st.jobs[name], adopt_atom::value, report);
  }
}

template <typename Body>
void to_job(Self* self, const std::string& job, caf::atom_value atom, const std::string& node,
            const Body& body) {
  auto it = self->state.jobs.find(job);
  if (it != self->state.jobs.end()) self->send(it->second, atom, node, body);
}

// A replica of a job that no longer exists is killed; its exit is acknowledged.
void on_started(Self* self, const std::string& node, uint64_t epoch,
                const protocol::ReplicaStarted& started) {
  if (self->state.jobs.count(started.job) == 0) {
    self->state.ctx.outbox->agent(node, epoch, MessageKind::kKillReplica,
                                  protocol::KillReplica{started.uid, 0, "no such job"});
    return;
  }
  to_job(self, started.job, started_atom::value, node, started);
}

void on_exited(Self* self, const std::string& node, uint64_t epoch,
               const protocol::ReplicaExited& exit) {
  if (self->state.jobs.count(exit.job) == 0) {
    self->state.ctx.outbox->agent(node, epoch, MessageKind::kReplicaExitedAck,
                                  protocol::ReplicaExitedAck{exit.uid});
    return;
  }
  to_job(self, exit.job, exited_atom::value, node, exit);
}

// One supervisor per stored job, restored (it re-reserves and adopts, see job_state_machine.h).
void restore_jobs(Self* self, std::vector<JobRecord> restored) {
  for (auto& record : restored) {
    // Accepted when it was applied, under whatever limits held then.
    auto manifest = spec::parse_manifest(record.status.manifest, spec::ManifestLimits::none());
    if (!manifest.ok()) {
      spdlog::error("job={} cannot be restored: {}", record.status.name,
                    manifest.status().to_string());
      continue;
    }
    self->state.summary[record.status.name] = record.status;
    spawn_for(self, std::move(record), manifest->gang(), true);
  }
}

// Each job with a replica on `node` gets `atom` (node_lost_atom, evict_atom).
template <typename Atom>
void tell_jobs_on_node(Self* self, Atom atom, const std::string& node) {
  for (const auto& [name, status] : self->state.summary) {
    const bool there = std::any_of(status.replicas.begin(), status.replicas.end(),
                                   [&](const auto& r) { return r.node == node; });
    if (!there) continue;
    // A service's replica is replaced before it stops (surge first): its service
    // evicts it. A lost node's replicas are gone already: their jobs hear of it.
    constexpr bool evicting = std::is_same_v<Atom, evict_atom>;
    if (evicting && manager::forward_service_evict(self, status)) continue;
    self->send(self->state.jobs[name], atom, node);
  }
}

// A supervisor's new status: the lists show it, and the job's owner (an
// experiment, service, run or notebook) hears of it.
void take_job_status(Self* self, const protocol::JobStatus& status) {
  if (!self->state.jobs.count(status.name)) return;
  self->state.summary[status.name] = status;
  manager::forward_status(self, status);
  manager::forward_service_status(self, status);
  manager::forward_run_status(self, status);
  manager::forward_notebook_status(self, status);
}

// A supervisor that ended (its job deleted): forgotten here and by its owner.
void job_gone(Self* self, const std::string& name) {
  auto summary = self->state.summary.find(name);
  const std::string owner = summary == self->state.summary.end() ? "" : summary->second.owner;
  self->state.jobs.erase(name);
  self->state.summary.erase(name);
  manager::forward_gone(self, name, owner);
  manager::forward_service_gone(self, name, owner);
  manager::forward_run_gone(self, name, owner);
  manager::forward_notebook_gone(self, name, owner);
}

// Every supervisor the store remembers, jobs first: experiments, services,
// runs and notebooks adopt their jobs as they are now.
void restore_all(Self* self, RestoredState restored) {
  restore_jobs(self, std::move(restored.jobs));
  // After the jobs: each experiment adopts its trials' jobs as they are now.
  manager::restore_experiments(self, std::move(restored.experiments));
  manager::restore_services(self, std::move(restored.services));
  manager::restore_tokens(self, std::move(restored.tokens));
  manager::restore_pipelines(self, std::move(restored.pipelines), std::move(restored.runs));
  // After the runs: each counts its unfinished runs from their summaries.
  manager::restore_recurring_runs(self, std::move(restored.recurring_runs));
  // After the jobs: each notebook adopts its server's job from the summaries.
  manager::restore_notebooks(self, std::move(restored.notebooks));
}

// Jobs and trainjobs (the client verbs on them, replicas' reports from agents,
// supervisors' status) and the node events that concern them.
caf::message_handler jobs_and_nodes(Self* self) {
  return {
      [=](scrape_atom) { return manager::scrape_manager(self->state); },
      [=](apply_atom, const ClientRef& c, const protocol::ApplyRequest& r) { apply(self, c, r); },
      [=](get_atom, const ClientRef& c, const protocol::GetRequest& r) { get(self, c, r); },
      [=](delete_atom, const ClientRef& c, const protocol::DeleteRequest& r) {
        if (manager::in_scope(self, c, r.resource, r.name)) remove(self, c, r);
      },
      [=](logs_atom, const ClientRef& c, const protocol::LogsRequest& r) {
        if (manager::in_scope(self, c, r.resource, r.name)) manager::logs(self, c, r);
      },
      [=](token_atom, const ClientRef& c, const protocol::TokenCreateRequest& r) {
        if (manager::in_scope_namespace(self, c, r.ns, "the token")) {
          manager::create_token(self, c, r);
        }
      },
      [=](retry_atom, const ClientRef& c, const protocol::RetryRequest& r) {
        if (manager::in_scope(self, c, r.resource, r.name)) manager::retry_run(self, c, r);
      },
      [=](metrics_atom, const ClientRef& c, const protocol::MetricsHistoryRequest& r) {
        if (manager::in_scope(self, c, r.resource, r.name)) manager::metrics_history(self, c, r);
      },
      [=](suspend_atom, const ClientRef& c, const protocol::SuspendRequest& r) {
        if (manager::in_scope(self, c, r.resource, r.name)) manager::suspend_job(self, c, r);
      },
      // Nodes are the registry's; a key scoped to a namespace may not cordon one.
      [=](cordon_atom, const ClientRef& c, const protocol::CordonRequest& r) {
        if (manager::in_scope(self, c, "nodes", r.node)) {
          self->send(self->state.ctx.registry, cordon_atom::value, c, r);
        }
      },
      [=](chunk_atom, uint64_t id, const protocol::LogsChunk& chunk) {
        manager::logs_chunk(self, id, chunk);
      },
      [=](timeout_atom, uint64_t id) { manager::log_read_timed_out(self, id); },
      [=](started_atom, const std::string& node, uint64_t epoch,
          const protocol::ReplicaStarted& started) { on_started(self, node, epoch, started); },
      [=](exited_atom, const std::string& node, uint64_t epoch,
          const protocol::ReplicaExited& exit) { on_exited(self, node, epoch, exit); },
      [=](metrics_atom, const std::string& node, uint64_t, const protocol::MetricsReport& r) {
        auto it = self->state.jobs.find(r.job);
        if (it != self->state.jobs.end()) self->send(it->second, metrics_atom::value, r);
      },
      // A pipeline step's logged metrics, from its run: for the step's job.
      [=](metrics_atom, step_atom, const protocol::MetricsReport& r) {
        auto it = self->state.jobs.find(r.job);
        if (it != self->state.jobs.end()) {
          self->send(it->second, metrics_atom::value, step_atom::value, r.samples);
        }
      },
      [=](ready_atom, const std::string& node, uint64_t, const protocol::ReplicaReadiness& r) {
        auto it = self->state.jobs.find(r.job);
        if (it != self->state.jobs.end()) self->send(it->second, ready_atom::value, node, r);
      },
      [=](adopt_atom, const std::string& node, uint64_t epoch,
          const std::vector<protocol::ReplicaReport>& running) {
        adopt(self, node, epoch, running);
      },
      [=](node_lost_atom, const std::string& node) {
        tell_jobs_on_node(self, node_lost_atom::value, node);
      },
      // The registry stored the node's cordon first: nothing evicted lands there again.
      [=](evict_atom, const std::string& node) {
        tell_jobs_on_node(self, evict_atom::value, node);
      },
      [=](status_atom, const protocol::JobStatus& status) { take_job_status(self, status); },
      [=](metrics_atom, const std::string& job,
          const std::vector<protocol::MetricSample>& samples) {
        manager::forward_metrics(self, job, samples);
      },
      [=](gone_atom, const std::string& name) { job_gone(self, name); },
  };
}

caf::behavior manager_behavior(Self* self, ActorContext ctx, RestoredState restored) {
  self->state.ctx = std::move(ctx);
  // Job supervisors report back to us; the context we were given predates our handle.
  self->state.ctx.manager = caf::actor_cast<caf::actor>(self);
  // A failed request (e.g. to a job that just quit) must not take the API down.
  self->set_error_handler([](caf::scheduled_actor*, caf::error& error) {
    spdlog::warn("manager: request failed: {}", caf::to_string(error));
  });
  self->set_default_handler(caf::print_and_drop);
  self->state.parser = self->spawn(parser);
  self->state.routes_version = static_cast<uint64_t>(wall_ms());
  restore_all(self, std::move(restored));
  // Notices an ingress that stops polling (services then say IngressReady False).
  self->send(self, ingress_atom::value);
  return manager::experiment_requests(self)
      .or_else(manager::service_requests(self))
      .or_else(manager::pipeline_requests(self))
      .or_else(manager::recurring_run_requests(self))
      .or_else(manager::notebook_requests(self))
      .or_else(jobs_and_nodes(self));
}

}  // namespace

namespace manager {

std::string job_ref(const std::string& resource, const std::string& name) {
  return (resource == "jobs" ? "job/" : "trainjob/") + name;
}

std::optional<caf::actor> find_job(Self* self, const ClientRef& client, const std::string& resource,
                                   const std::string& name) {
  auto& st = self->state;
  auto job = st.jobs.find(name);
  auto summary = st.summary.find(name);
  if (!workload(resource)) {
    st.ctx.outbox->client_error(
        client, InvalidArgument("unknown resource '" + resource + "' (" + kResources + ")"));
    return std::nullopt;
  }
  if (job == st.jobs.end() || summary == st.summary.end()) {
    st.ctx.outbox->client_error(client, NotFound(job_ref(resource, name) + " not found"));
    return std::nullopt;
  }
  if (const std::string is = resource_of(summary->second.kind); is != resource) {
    // Names are unique across the kinds that run replicas: say which it is, to
    // a client that may see it.
    const bool visible = client.ns.empty() || client.ns == summary->second.ns;
    if (!visible) {
      st.ctx.outbox->client_error(client, NotFound(job_ref(resource, name) + " not found"));
      return std::nullopt;
    }
    st.ctx.outbox->client_error(
        client, NotFound(job_ref(resource, name) + " not found; " + job_ref(is, name) + " is"));
    return std::nullopt;
  }
  return job->second;
}

}  // namespace manager

caf::actor spawn_manager(caf::actor_system& system, ActorContext ctx, RestoredState restored) {
  return system.spawn(manager_behavior, std::move(ctx), std::move(restored));
}

}  // namespace cadre::actors

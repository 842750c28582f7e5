// The manager's side of experiments: admitting them, answering get and delete,
// restoring them after a restart, and serving their supervisors' requests for
// trial jobs, whose status and metrics it forwards back to them.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/manager_state.h"
#include "protocol/spec/experiment_spec.h"
#include "protocol/spec/manifest.h"
#include "protocol/wall_clock.h"

namespace cadre::actors::manager {
namespace {

using protocol::MessageKind;
using Self = ManagerSelf;

constexpr const char* kExperimentOwner = "experiment/";

std::string experiment_ref(const std::string& name) { return "experiment/" + name; }

std::optional<caf::actor> experiment_of_owner(Self* self, const std::string& owner) {
  const std::string prefix = kExperimentOwner;
  if (owner.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  auto it = self->state.experiments.find(owner.substr(prefix.size()));
  if (it == self->state.experiments.end()) return std::nullopt;
  return it->second;
}

ExperimentMachineOptions machine_options(const ActorContext& ctx) {
  ExperimentMachineOptions options;
  options.store_retry = ctx.policy.store_retry;
  return options;
}

// How an apply ends: Ok with "created" or "unchanged", or why not.
using AppliedFn = std::function<void(const Status&, const std::string& action)>;

// An experiment of that name exists: the same text again is unchanged, another
// is refused (experiments are immutable).
void answer_existing(Self* self, const std::string& name, const std::string& text, AppliedFn done) {
  auto& st = self->state;
  auto it = st.experiments.find(name);
  if (it == st.experiments.end())
    return done(AlreadyExists(experiment_ref(name) + " is being created"), "");
  self->request(it->second, st.ctx.policy.request_timeout, get_atom::value)
      .then(
          [=](const protocol::ExperimentStatus& status) {
            if (status.manifest == text) return done(Status::Ok(), "unchanged");
            done(AlreadyExists(experiment_ref(name) +
                               " already exists with a different spec; experiments "
                               "are immutable, delete it first"),
                 "");
          },
          [=](const caf::error& error) {
            done(Unavailable("the supervisor of " + experiment_ref(name) +
                             " did not answer: " + caf::to_string(error)),
                 "");
          });
}

void create_experiment_then(Self* self, const std::shared_ptr<const spec::Manifest>& manifest,
                            const std::string& text, AppliedFn done) {
  auto& st = self->state;
  const std::string name = manifest->metadata.name;
  if (st.experiments.count(name) || st.creating_experiments.count(name)) {
    return answer_existing(self, name, text, std::move(done));
  }
  protocol::ExperimentStatus record;
  record.name = name;
  record.created_ms = wall_ms();
  record.manifest = text;
  auto machine =
      ExperimentStateMachine::Create(record, *manifest->experiment, machine_options(st.ctx));
  if (!machine.ok()) return done(machine.status(), "");
  std::shared_ptr<ExperimentStateMachine> owned(std::move(*machine));
  st.creating_experiments.insert(name);
  auto not_stored = [=](const Status& why) {
    self->state.creating_experiments.erase(name);
    done(Unavailable(experiment_ref(name) + " not created: " + why.message()), "");
  };
  // Acknowledge only what is durable: the reply waits for the store.
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, owned->record())
      .then(
          [=](const Status& stored) {
            if (!stored.ok()) return not_stored(stored);
            self->state.creating_experiments.erase(name);
            self->state.experiment_summary[name] = owned->summary();
            auto actor = spawn_experiment(self->system(), self->state.ctx, owned);
            self->state.experiments[name] = actor;
            self->send(actor, start_atom::value);
            done(Status::Ok(), "created");
          },
          [=](const caf::error& error) {
            not_stored(Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

// The run a pipeline step's experiment belongs to: its `pipeline-run` label.
std::string run_of(const spec::Manifest& manifest) {
  auto it = manifest.metadata.labels.find("pipeline-run");
  return it == manifest.metadata.labels.end() ? "" : it->second;
}

}  // namespace

void create_experiment(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
                       const std::shared_ptr<const spec::Manifest>& manifest) {
  const std::string name = manifest->metadata.name;
  create_experiment_then(
      self, manifest, request.manifest, [=](const Status& status, const std::string& action) {
        if (!status.ok()) return self->state.ctx.outbox->client_error(client, status);
        self->state.ctx.outbox->client(client, MessageKind::kApplyReply,
                                       protocol::ApplyReply{"Experiment", name, action});
      });
}

void get_experiments(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  if (name.empty()) {
    // Lists come from the summaries the supervisors push: no fan-out.
    protocol::GetReply reply;
    for (const auto& [n, status] : st.experiment_summary) reply.experiments.push_back(status);
    std::sort(reply.experiments.begin(), reply.experiments.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created_ms, a.name) < std::tie(b.created_ms, b.name);
    });
    return st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  }
  auto it = st.experiments.find(name);
  if (it == st.experiments.end()) {
    return st.ctx.outbox->client_error(client, NotFound(experiment_ref(name) + " not found"));
  }
  const auto timeout = st.ctx.policy.request_timeout;
  self->request(it->second, timeout, get_atom::value)
      .then(
          [=](protocol::ExperimentStatus status) {
            self->request(self->state.ctx.store, timeout, events_atom::value,
                          experiment_events_key(name))
                .then(
                    [=](const std::vector<protocol::JobEvent>& events) mutable {
                      status.events = events;
                      protocol::GetReply reply;
                      reply.experiments.push_back(std::move(status));
                      self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
                    },
                    answer_error(self, client,
                                 "the store (events of " + experiment_ref(name) + ")"));
          },
          answer_error(self, client, "the supervisor of " + experiment_ref(name)));
}

void delete_experiment(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  auto it = st.experiments.find(name);
  if (it == st.experiments.end()) {
    return st.ctx.outbox->client_error(client, NotFound(experiment_ref(name) + " not found"));
  }
  // Each trial job's delete waits out its replicas' grace; the jobs go in parallel.
  const auto& policy = st.ctx.policy;
  const auto timeout = 2 * (policy.request_timeout + policy.kill_grace + policy.lost_after);
  self->request(it->second, timeout, delete_atom::value)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{name});
          },
          [=](const caf::error& error) {
            self->state.ctx.outbox->client_error(
                client, Unavailable("the supervisor of " + experiment_ref(name) +
                                    " did not answer: " + caf::to_string(error)));
          });
}

void restore_experiments(Self* self, std::vector<ExperimentRecord> restored) {
  auto& st = self->state;
  for (auto& record : restored) {
    const std::string name = record.status.name;
    // Accepted when it was applied, under whatever limits held then.
    auto manifest = spec::parse_manifest(record.status.manifest, spec::ManifestLimits::none());
    if (!manifest.ok() || !manifest->experiment) {
      spdlog::error("experiment={} cannot be restored: {}", name,
                    manifest.ok() ? "not an Experiment" : manifest.status().to_string());
      continue;
    }
    auto machine = ExperimentStateMachine::Create(record.status, *manifest->experiment,
                                                  machine_options(st.ctx));
    if (!machine.ok()) {
      spdlog::error("experiment={} cannot be restored: {}", name, machine.status().to_string());
      continue;
    }
    std::map<std::string, protocol::JobStatus> jobs;
    for (const auto& [job, status] : st.summary) {
      if (status.owner == kExperimentOwner + name) jobs[job] = status;
    }
    st.experiment_summary[name] = (*machine)->summary();
    if (const std::string run = run_of(*manifest); !run.empty()) st.experiment_runs[name] = run;
    auto actor = spawn_experiment(self->system(), st.ctx, std::move(*machine));
    st.experiments[name] = actor;
    self->send(actor, adopt_atom::value, jobs, record.samples);
  }
}

namespace {

void create_trial_job(Self* self, caf::response_promise promise, const std::string& job,
                      const std::string& yaml, const std::string& checkpoint_name,
                      const std::string& owner, const protocol::MetricsCollection& metrics) {
  auto manifest = spec::parse_manifest(yaml, spec::ManifestLimits::none());
  if (!manifest.ok()) {
    promise.deliver(manifest.status().annotate("trial job " + job));
    return;
  }
  JobOrigin origin;
  origin.owner = owner;
  origin.checkpoint_name = checkpoint_name;
  origin.metrics = metrics;
  origin.done = [promise](const Status& status, const std::string&) mutable {
    promise.deliver(status);
  };
  create_job(self, std::make_shared<const spec::Manifest>(std::move(*manifest)), yaml,
             std::move(origin));
}

// Deletes a trial's job, answered once its supervisor has (it stops the replicas
// first, so the wait covers their grace and a silent node's lease).
void delete_trial_job(Self* self, caf::response_promise promise, const std::string& job) {
  auto it = self->state.jobs.find(job);
  if (it == self->state.jobs.end()) {
    promise.deliver(NotFound("job/" + job + " not found"));
    return;
  }
  const auto& policy = self->state.ctx.policy;
  const auto timeout = policy.request_timeout + policy.kill_grace + policy.lost_after;
  self->request(it->second, timeout, delete_atom::value)
      .then(
          [promise](const Status& deleted) mutable { promise.deliver(deleted); },
          [promise](const caf::error& error) mutable {
            promise.deliver(Unavailable("job supervisor did not answer: " + caf::to_string(error)));
          });
}

void apply_run_experiment(Self* self, caf::response_promise promise, const std::string& yaml,
                          const std::string& run) {
  auto parsed = spec::parse_manifest(yaml);
  if (!parsed.ok() || !parsed->experiment) {
    promise.deliver(parsed.ok() ? InvalidArgument("not an Experiment") : parsed.status());
    return;
  }
  auto manifest = std::make_shared<const spec::Manifest>(std::move(*parsed));
  const std::string name = manifest->metadata.name;
  create_experiment_then(self, manifest, yaml,
                         [=](const Status& status, const std::string&) mutable {
                           if (status.ok()) self->state.experiment_runs[name] = run;
                           promise.deliver(status);
                         });
}

}  // namespace

caf::message_handler experiment_requests(Self* self) {
  return {
      // Create a trial's job (answered once it is stored, or with why not).
      [=](trial_atom, const std::string& job, const std::string& yaml,
          const std::string& checkpoint_name, const std::string& owner,
          const protocol::MetricsCollection& metrics) {
        create_trial_job(self, self->make_response_promise(), job, yaml, checkpoint_name, owner,
                         metrics);
      },
      [=](stop_atom, const std::string& job, const std::string& reason,
          const std::string& message) {
        auto it = self->state.jobs.find(job);
        if (it != self->state.jobs.end()) self->send(it->second, stop_atom::value, reason, message);
      },
      // Delete a trial's job; NotFound if it is already gone.
      [=](delete_atom, const std::string& job) {
        delete_trial_job(self, self->make_response_promise(), job);
      },
      [=](status_atom, const protocol::ExperimentStatus& status) {
        if (self->state.experiments.count(status.name)) {
          self->state.experiment_summary[status.name] = status;
        }
      },
      [=](gone_atom, experiment_atom, const std::string& name) {
        self->state.experiments.erase(name);
        self->state.experiment_summary.erase(name);
        self->state.experiment_runs.erase(name);
      },
      // A pipeline's tuning step creates its experiment (answered once stored, or
      // with why not; the same text again is fine: a restarted run applies again).
      [=](apply_atom, experiment_atom, const std::string& yaml, const std::string& run) {
        apply_run_experiment(self, self->make_response_promise(), yaml, run);
      },
      // An experiment as the list has it (its supervisor keeps it current).
      [=](get_atom, experiment_atom, const std::string& name) {
        auto promise = self->make_response_promise();
        auto it = self->state.experiment_summary.find(name);
        if (it == self->state.experiment_summary.end()) {
          promise.deliver(NotFound(experiment_ref(name) + " not found"),
                          protocol::ExperimentStatus{});
          return;
        }
        promise.deliver(Status::Ok(), it->second);
      },
  };
}

void forward_status(Self* self, const protocol::JobStatus& job) {
  if (auto experiment = experiment_of_owner(self, job.owner)) {
    self->send(*experiment, status_atom::value, job);
  }
}

void forward_metrics(Self* self, const std::string& job,
                     const std::vector<protocol::MetricSample>& samples) {
  auto summary = self->state.summary.find(job);
  if (summary == self->state.summary.end()) return;
  if (auto experiment = experiment_of_owner(self, summary->second.owner)) {
    self->send(*experiment, metrics_atom::value, job, samples);
  }
}

void forward_gone(Self* self, const std::string& job, const std::string& owner) {
  if (auto experiment = experiment_of_owner(self, owner)) {
    self->send(*experiment, gone_atom::value, job);
  }
}

}  // namespace cadre::actors::manager

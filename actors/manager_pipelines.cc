// The manager's side of pipelines: storing pipeline versions, admitting runs
// (parameters typed against the pipeline's inputs), answering get and delete,
// restoring runs after a restart, and forwarding step jobs' news to their runs.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "actors/manager_state.h"
#include "pipelines/json_text.h"
#include "protocol/spec/manifest.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/wall_clock.h"

namespace cadre::actors::manager {
namespace {

using protocol::MessageKind;
using Self = ManagerSelf;
using nlohmann::json;

constexpr const char* kRunOwner = "run/";

std::string pipeline_ref(const std::string& name) { return "pipeline/" + name; }
std::string run_ref(const std::string& name) { return "run/" + name; }

std::optional<caf::actor> run_of_owner(Self* self, const std::string& owner) {
  const std::string prefix = kRunOwner;
  if (owner.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  auto it = self->state.runs.find(owner.substr(prefix.size()));
  if (it == self->state.runs.end()) return std::nullopt;
  return it->second;
}

PipelineRunMachineOptions machine_options(Self* self, const std::string& pipeline) {
  PipelineRunMachineOptions options;
  options.store_retry = self->state.ctx.policy.store_retry;
  options.checkpoint_root = self->state.ctx.policy.checkpoint_root;
  auto cache = self->state.execution_cache.find(pipeline);
  if (cache != self->state.execution_cache.end()) options.cache = cache->second;
  return options;
}

// A stored run's succeeded (not themselves cached) steps, as cache entries.
void remember_executions(Self* self, const protocol::PipelineRunStatus& run) {
  auto& cache = self->state.execution_cache[run.pipeline];
  for (const auto& t : run.tasks) {
    if (t.kind != protocol::PipelineTaskKind::kContainer || t.cached || t.fingerprint.empty() ||
        t.state != protocol::PipelineState::kSucceeded) {
      continue;
    }
    cache[t.fingerprint] =
        pipelines::CachedExecution{t.fingerprint, run.name, t.id, t.outputs, t.output_artifacts};
  }
}

std::vector<protocol::PipelineParameter> parameters_of(const spec::PipelineSpec& spec) {
  std::vector<protocol::PipelineParameter> out;
  for (const auto& [name, def] : spec.root.inputs.parameters) {
    protocol::PipelineParameter p;
    p.name = name;
    p.type = spec::parameter_type_name(def.type);
    if (def.default_value) p.default_value = pipelines::json_text(*def.default_value);
    p.optional = def.optional;
    out.push_back(std::move(p));
  }
  return out;
}

protocol::PipelineInfo info_of(const std::string& name, const PipelineEntry& entry,
                               bool with_manifests) {
  protocol::PipelineInfo info;
  info.name = name;
  if (entry.versions.empty()) return info;
  info.created_ms = entry.versions.front().created_ms;
  info.latest_version = entry.versions.back().version;
  const auto& latest = entry.specs.at(info.latest_version);
  info.description = latest->description;
  info.parameters = parameters_of(*latest);
  for (auto v : entry.versions) {
    if (!with_manifests) v.manifest.clear();
    info.versions.push_back(std::move(v));
  }
  return info;
}

// The run's parameters: each given one typed by the pipeline's declaration,
// defaults for the rest; errors name the parameter.
Result<json> typed_parameters(const spec::PipelineSpec& pipeline, const std::string& pipeline_name,
                              const spec::PipelineRunSpec& run) {
  const auto& defs = pipeline.root.inputs.parameters;
  json out = json::object();
  for (const auto& [name, text] : run.parameters) {
    auto def = defs.find(name);
    if (def == defs.end()) {
      std::string known;
      for (const auto& [n, _] : defs) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("spec.parameters." + name + ": pipeline '" + pipeline_name +
                             "' has no parameter '" + name + "'" +
                             (known.empty() ? " (it takes none)" : " (it has: " + known + ")"));
    }
    auto value = spec::parse_parameter_text(text, def->second.type, name);
    if (!value.ok())
      return InvalidArgument("spec.parameters." + name + ": " + value.status().message());
    out[name] = *value;
  }
  for (const auto& [name, def] : defs) {
    if (out.contains(name)) continue;
    if (def.default_value) {
      out[name] = *def.default_value;
    } else if (!def.optional) {
      return InvalidArgument("spec.parameters: parameter '" + name + "' (" +
                             spec::parameter_type_name(def.type) +
                             ") is required: give it with -p " + name + "=VALUE");
    }
  }
  return out;
}

void spawn_run(Self* self, std::shared_ptr<PipelineRunStateMachine> machine) {
  const std::string name = machine->name();
  self->state.run_summary[name] = machine->summary();
  self->state.runs[name] = spawn_pipeline_run(self->system(), self->state.ctx, std::move(machine));
}

}  // namespace

void apply_pipeline(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
                    const std::shared_ptr<const spec::Manifest>& manifest) {
  auto& st = self->state;
  const std::string name = manifest->metadata.name;
  if (st.creating_pipelines.count(name)) {
    return st.ctx.outbox->client_error(client,
                                       AlreadyExists(pipeline_ref(name) + " is being stored"));
  }
  PipelineEntry& entry = st.pipelines[name];
  if (!entry.versions.empty() && entry.versions.back().manifest == request.manifest) {
    return st.ctx.outbox->client(client, MessageKind::kApplyReply,
                                 protocol::ApplyReply{"Pipeline", name, "unchanged"});
  }
  protocol::PipelineVersion version;
  version.version = entry.versions.empty() ? 1 : entry.versions.back().version + 1;
  version.created_ms = wall_ms();
  version.manifest = request.manifest;
  if (entry.versions.empty()) st.pipelines.erase(name);  // until it is stored
  st.creating_pipelines.insert(name);
  auto spec = manifest->pipeline;
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, pipeline_atom::value,
                name, version)
      .then(
          [=](const Status& stored) {
            self->state.creating_pipelines.erase(name);
            if (!stored.ok()) {
              return self->state.ctx.outbox->client_error(
                  client, Unavailable(pipeline_ref(name) + " not stored: " + stored.message()));
            }
            PipelineEntry& e = self->state.pipelines[name];
            e.versions.push_back(version);
            e.specs[version.version] = spec;
            spdlog::info("pipeline={} version {} stored", name, version.version);
            self->state.ctx.outbox->client(
                client, MessageKind::kApplyReply,
                protocol::ApplyReply{
                    "Pipeline", name,
                    version.version == 1
                        ? "created"
                        : "updated (version " + std::to_string(version.version) + ")"});
          },
          [=](const caf::error& error) {
            self->state.creating_pipelines.erase(name);
            self->state.ctx.outbox->client_error(
                client, Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

void apply_run(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
               const std::shared_ptr<const spec::Manifest>& manifest) {
  const std::string name = manifest->metadata.name;
  apply_run_then(self, manifest, request.manifest, RunOrigin{},
                 [=](const Status& status, const std::string& action) {
                   if (!status.ok()) return self->state.ctx.outbox->client_error(client, status);
                   self->state.ctx.outbox->client(
                       client, MessageKind::kApplyReply,
                       protocol::ApplyReply{"PipelineRun", name, action});
                 });
}

namespace {

using RunDone = std::function<void(const Status&, const std::string&)>;

// A run of that name exists: the same text is a no-op, anything else is refused.
void compare_with_existing_run(Self* self, const caf::actor& existing, const std::string& name,
                               const std::string& text, const RunDone& done) {
  self->request(existing, self->state.ctx.policy.request_timeout, get_atom::value)
      .then(
          [=](const protocol::PipelineRunStatus& status) {
            if (status.manifest == text) return done(Status::Ok(), "unchanged");
            done(AlreadyExists(run_ref(name) +
                               " already exists; runs are immutable (give the new run another "
                               "name, or delete this one)"),
                 "");
          },
          [=](const caf::error& error) {
            done(Unavailable("the supervisor of " + run_ref(name) +
                             " did not answer: " + caf::to_string(error)),
                 "");
          });
}

// The version of the pipeline a run asks for (the latest unless it names one).
Result<std::pair<int32_t, std::shared_ptr<const spec::PipelineSpec>>> pipeline_version(
    Self* self, const spec::PipelineRunSpec& run) {
  auto pipeline = self->state.pipelines.find(run.pipeline);
  if (pipeline == self->state.pipelines.end() || pipeline->second.versions.empty()) {
    return NotFound("spec.pipelineRef.name: " + pipeline_ref(run.pipeline) + " not found");
  }
  const int32_t latest = pipeline->second.versions.back().version;
  const int32_t version = run.version.value_or(latest);
  auto spec = pipeline->second.specs.find(version);
  if (spec == pipeline->second.specs.end()) {
    return NotFound("spec.pipelineRef.version: " + pipeline_ref(run.pipeline) + " has no version " +
                    std::to_string(version) + " (latest: " + std::to_string(latest) + ")");
  }
  return std::make_pair(version, spec->second);
}

// A deleted run of the same name left its folder (artifacts outlive runs, as in
// KFP): the new run must not resume its checkpoints or read its outputs, so the
// old folder is moved aside, its files kept.
Status move_aside_earlier_folder(const std::filesystem::path& folder, const std::string& name) {
  std::error_code ec;
  if (!std::filesystem::exists(folder, ec)) return Status::Ok();
  const std::string aside = folder.string() + ".replaced-" + std::to_string(wall_ms());
  std::filesystem::rename(folder, aside, ec);
  if (ec) {
    return Internal("cannot move aside " + folder.string() +
                    ", the folder a deleted run of this name left: " + ec.message());
  }
  spdlog::info("run={} the folder an earlier run of this name left is now {}", name, aside);
  return Status::Ok();
}

// Acknowledge only what is durable: the run's supervisor starts once it is stored.
void store_and_start_run(Self* self, const protocol::PipelineRunStatus& record,
                         std::shared_ptr<PipelineRunStateMachine> machine, const RunDone& done) {
  const std::string name = record.name;
  self->state.creating_runs.insert(name);
  auto not_stored = [=](const Status& why) {
    self->state.creating_runs.erase(name);
    done(Unavailable(run_ref(name) + " not created: " + why.message()), "");
  };
  self->request(self->state.ctx.store, self->state.ctx.policy.request_timeout, put_atom::value,
                record)
      .then(
          [=](const Status& stored) {
            if (!stored.ok()) return not_stored(stored);
            self->state.creating_runs.erase(name);
            spawn_run(self, machine);
            self->send(self->state.runs[name], start_atom::value);
            done(Status::Ok(), "created");
          },
          [=](const caf::error& error) {
            not_stored(Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

}  // namespace

void apply_run_then(Self* self, const std::shared_ptr<const spec::Manifest>& manifest,
                    const std::string& text, RunOrigin origin, RunDone done) {
  auto& st = self->state;
  const std::string name = manifest->metadata.name;
  const spec::PipelineRunSpec& run = *manifest->pipeline_run;
  if (st.creating_runs.count(name))
    return done(AlreadyExists(run_ref(name) + " is being created"), "");
  if (auto existing = st.runs.find(name); existing != st.runs.end()) {
    return compare_with_existing_run(self, existing->second, name, text, done);
  }
  if (st.ctx.policy.checkpoint_root.empty()) {
    return done(FailedPrecondition("pipelines keep their artifacts under the checkpoint root; "
                                   "start the coordinator with --checkpoint-root"),
                "");
  }
  auto pipeline = pipeline_version(self, run);
  if (!pipeline.ok()) return done(pipeline.status(), "");
  const auto& [version, spec] = *pipeline;
  auto parameters = typed_parameters(*spec, run.pipeline, run);
  if (!parameters.ok()) return done(parameters.status(), "");
  const std::filesystem::path folder = std::filesystem::path(st.ctx.policy.checkpoint_root) /
                                       manifest->metadata.ns / pipeline_run_folder(name);
  if (Status moved = move_aside_earlier_folder(folder, name); !moved.ok()) return done(moved, "");

  protocol::PipelineRunStatus record;
  record.name = name;
  record.ns = manifest->metadata.ns;
  record.pipeline = run.pipeline;
  record.pipeline_version = version;
  record.experiment = run.experiment;
  record.caching = run.enable_caching;
  record.parameters = pipelines::json_text(*parameters);
  record.created_ms = wall_ms();
  record.manifest = text;
  record.recurring_run = origin.recurring_run;
  record.scheduled_ms = origin.scheduled_ms;
  auto machine =
      std::make_shared<PipelineRunStateMachine>(record, spec, machine_options(self, run.pipeline));
  store_and_start_run(self, record, std::move(machine), done);
}

void get_pipelines(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  protocol::GetReply reply;
  if (name.empty()) {
    for (const auto& [n, entry] : st.pipelines) reply.pipelines.push_back(info_of(n, entry, false));
    return st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  }
  auto it = st.pipelines.find(name);
  if (it == st.pipelines.end()) {
    return st.ctx.outbox->client_error(client, NotFound(pipeline_ref(name) + " not found"));
  }
  reply.pipelines.push_back(info_of(name, it->second, true));
  st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
}

void get_runs(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  if (name.empty()) {
    // Lists come from the summaries the supervisors push: no fan-out.
    protocol::GetReply reply;
    for (const auto& [n, status] : st.run_summary) reply.runs.push_back(status);
    std::sort(reply.runs.begin(), reply.runs.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created_ms, a.name) < std::tie(b.created_ms, b.name);
    });
    return st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  }
  auto it = st.runs.find(name);
  if (it == st.runs.end()) {
    return st.ctx.outbox->client_error(client, NotFound(run_ref(name) + " not found"));
  }
  const auto timeout = st.ctx.policy.request_timeout;
  self->request(it->second, timeout, get_atom::value)
      .then(
          [=](protocol::PipelineRunStatus status) {
            self->request(self->state.ctx.store, timeout, events_atom::value, run_events_key(name))
                .then(
                    [=](const std::vector<protocol::JobEvent>& events) mutable {
                      status.events = events;
                      protocol::GetReply reply;
                      reply.runs.push_back(std::move(status));
                      self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
                    },
                    answer_error(self, client, "the store (events of " + run_ref(name) + ")"));
          },
          answer_error(self, client, "the supervisor of " + run_ref(name)));
}

void delete_pipeline(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  if (!st.pipelines.count(name)) {
    return st.ctx.outbox->client_error(client, NotFound(pipeline_ref(name) + " not found"));
  }
  std::string running;
  for (const auto& [run, status] : st.run_summary) {
    if (status.pipeline == name && !protocol::is_terminal(status.state)) {
      running += (running.empty() ? "" : ", ") + run;
    }
  }
  if (!running.empty()) {
    return st.ctx.outbox->client_error(
        client, FailedPrecondition(pipeline_ref(name) + " has runs in progress (" + running +
                                   "); delete them or wait for them to finish"));
  }
  self->request(st.ctx.store, st.ctx.policy.request_timeout, delete_atom::value,
                pipeline_atom::value, name)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.pipelines.erase(name);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{name});
          },
          answer_error(self, client, "the store"));
}

void delete_run(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  auto it = st.runs.find(name);
  if (it == st.runs.end()) {
    return st.ctx.outbox->client_error(client, NotFound(run_ref(name) + " not found"));
  }
  // Each step job's delete waits out its replica's grace; they go in parallel.
  const auto& policy = st.ctx.policy;
  const auto timeout = 2 * (policy.request_timeout + policy.kill_grace + policy.lost_after);
  self->request(it->second, timeout, delete_atom::value)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{name});
          },
          answer_error(self, client, "the supervisor of " + run_ref(name)));
}

void retry_run(Self* self, const ClientRef& client, const protocol::RetryRequest& request) {
  auto& st = self->state;
  if (request.resource != "runs") {
    return st.ctx.outbox->client_error(
        client, InvalidArgument("only runs can be retried, not " + request.resource));
  }
  auto it = st.runs.find(request.name);
  if (it == st.runs.end()) {
    return st.ctx.outbox->client_error(client, NotFound(run_ref(request.name) + " not found"));
  }
  const std::string name = request.name;
  self->request(it->second, st.ctx.policy.request_timeout, retry_atom::value)
      .then(
          [=](const Status& status, int32_t reset) {
            if (!status.ok()) return self->state.ctx.outbox->client_error(client, status);
            self->state.ctx.outbox->client(client, MessageKind::kRetryReply,
                                           protocol::RetryReply{name, reset});
          },
          answer_error(self, client, "the supervisor of " + run_ref(name)));
}

void restore_pipelines(Self* self, std::vector<PipelineRecord> pipelines,
                       std::vector<protocol::PipelineRunStatus> runs) {
  auto& st = self->state;
  for (auto& record : pipelines) {
    PipelineEntry entry;
    for (auto& version : record.versions) {
      // Accepted when it was applied, under whatever limits held then.
      auto manifest = spec::parse_manifest(version.manifest, spec::ManifestLimits::none());
      if (!manifest.ok() || !manifest->pipeline) {
        spdlog::error("pipeline={} version {} cannot be restored: {}", record.name, version.version,
                      manifest.ok() ? "not a Pipeline" : manifest.status().to_string());
        continue;
      }
      entry.specs[version.version] = manifest->pipeline;
      entry.versions.push_back(std::move(version));
    }
    if (!entry.versions.empty()) st.pipelines[record.name] = std::move(entry);
  }
  for (const auto& run : runs) remember_executions(self, run);
  for (auto& run : runs) {
    const std::string name = run.name;
    auto pipeline = st.pipelines.find(run.pipeline);
    if (pipeline == st.pipelines.end() || !pipeline->second.specs.count(run.pipeline_version)) {
      spdlog::error("run={} cannot be restored: pipeline {} version {} is gone", name, run.pipeline,
                    run.pipeline_version);
      continue;
    }
    std::map<std::string, protocol::JobStatus> jobs;
    for (const auto& [job, status] : st.summary) {
      if (status.owner == kRunOwner + name) jobs[job] = status;
    }
    const auto spec = pipeline->second.specs.at(run.pipeline_version);
    auto options = machine_options(self, run.pipeline);
    auto machine = std::make_shared<PipelineRunStateMachine>(std::move(run), spec, options);
    spawn_run(self, machine);
    self->send(st.runs[name], adopt_atom::value, jobs);
  }
}

caf::message_handler pipeline_requests(Self* self) {
  return {
      [=](status_atom, const protocol::PipelineRunStatus& status) {
        if (self->state.runs.count(status.name)) self->state.run_summary[status.name] = status;
      },
      // Delete what run `run` made under `name`: a step's job, or a tuning step's
      // experiment (NotFound when there is neither, or it is someone else's).
      [=](delete_atom, run_atom, const std::string& name, const std::string& run) {
        auto promise = self->make_response_promise();
        auto& st = self->state;
        const auto& policy = st.ctx.policy;
        const auto timeout = policy.request_timeout + policy.kill_grace + policy.lost_after;
        auto deliver = [promise](const Status& status) mutable { promise.deliver(status); };
        auto unanswered = [promise](const caf::error& error) mutable {
          promise.deliver(Unavailable("its supervisor did not answer: " + caf::to_string(error)));
        };
        auto job = st.jobs.find(name);
        auto summary = st.summary.find(name);
        if (job != st.jobs.end() && summary != st.summary.end() &&
            summary->second.owner == "run/" + run) {
          self->request(job->second, timeout, delete_atom::value).then(deliver, unanswered);
          return;
        }
        auto experiment = st.experiments.find(name);
        auto maker = st.experiment_runs.find(name);
        if (experiment != st.experiments.end() && maker != st.experiment_runs.end() &&
            maker->second == run) {
          // Its trials' jobs go with it, each waiting out its grace period.
          self->request(experiment->second, 2 * timeout, delete_atom::value)
              .then(deliver, unanswered);
          return;
        }
        promise.deliver(NotFound(name + " is not a job or experiment of run/" + run));
      },
      [=](gone_atom, run_atom, const std::string& name) {
        self->state.runs.erase(name);
        self->state.run_summary.erase(name);
        for (auto& [pipeline, cache] : self->state.execution_cache) {
          for (auto it = cache.begin(); it != cache.end();) {
            it = it->second.run == name ? cache.erase(it) : std::next(it);
          }
        }
      },
      [=](cache_atom, const std::string& pipeline,
          const std::vector<pipelines::CachedExecution>& executions) {
        auto& cache = self->state.execution_cache[pipeline];
        for (const auto& e : executions) cache[e.fingerprint] = e;
      },
  };
}

void forward_run_status(Self* self, const protocol::JobStatus& job) {
  if (auto run = run_of_owner(self, job.owner)) self->send(*run, status_atom::value, job);
}

void forward_run_gone(Self* self, const std::string& job, const std::string& owner) {
  if (auto run = run_of_owner(self, owner)) self->send(*run, gone_atom::value, job);
}

}  // namespace cadre::actors::manager

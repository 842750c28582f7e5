// The manager's side of inference services: admitting and updating them (with the
// model's location checked and resolved), answering get and delete, restoring them
// after a restart, creating and deleting the replica jobs their supervisors ask
// for, and serving the routing table to ingresses.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "actors/manager_state.h"
#include "actors/service_replica_job.h"
#include "protocol/peer_auth.h"
#include "protocol/spec/inference_service_spec.h"
#include "protocol/spec/manifest.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/wall_clock.h"

namespace cadre::actors::manager {
namespace {

namespace fs = std::filesystem;
using protocol::MessageKind;
using Self = ManagerSelf;

constexpr const char* kServiceOwner = "inferenceservice/";
constexpr const char* kUriField = "spec.predictor.model.storageUri";
// An ingress polls every 250 ms; one silent this long is gone.
constexpr auto kIngressSilence = std::chrono::seconds(3);

std::string service_ref(const std::string& name) { return "inferenceservice/" + name; }

std::optional<caf::actor> service_of_owner(Self* self, const std::string& owner) {
  const std::string prefix = kServiceOwner;
  if (owner.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  auto it = self->state.services.find(owner.substr(prefix.size()));
  if (it == self->state.services.end()) return std::nullopt;
  return it->second;
}

ServiceMachineOptions machine_options(const ActorContext& ctx) {
  ServiceMachineOptions options;
  options.store_retry = ctx.policy.store_retry;
  options.autoscale = ctx.policy.autoscale;
  return options;
}

// Where the replicas find the model. The coordinator checks what it can see: the
// storage of file:// URIs and the checkpoint root are shared with every node (as
// a Kubeflow PVC would be), so a path missing here is missing there too.
Result<std::string> resolve_model(Self* self, const spec::InferenceServiceSpec& spec) {
  const auto& p = spec.predictor;
  const bool pytorch = p.model_format == spec::ModelFormat::kPytorch;
  std::error_code ec;
  if (p.storage.scheme == spec::StorageUri::Scheme::kFile) {
    const fs::path path = p.storage.path;
    if (!fs::exists(path, ec)) {
      return InvalidArgument(std::string(kUriField) + ": " + spec::quote_value(p.storage_uri) +
                             " does not exist (the coordinator and every node must see it)");
    }
    if (pytorch && !fs::is_directory(path, ec)) {
      return InvalidArgument(std::string(kUriField) +
                             ": a pytorch model is a model folder (version folders with model.pt, "
                             "and config.pbtxt: TorchScript records no shapes), not a file");
    }
    return path.string();
  }
  const std::string& job = p.storage.path;
  auto it = self->state.summary.find(job);
  if (it == self->state.summary.end()) {
    return InvalidArgument(std::string(kUriField) + ": " + spec::quote_value(p.storage_uri) +
                           ": there is no job " + spec::quote_value(job));
  }
  if (it->second.phase != protocol::JobPhase::kSucceeded) {
    return InvalidArgument(
        std::string(kUriField) + ": job " + spec::quote_value(job) + " has not succeeded (it is " +
        std::string(protocol::enum_name(it->second.phase)) + "); apply the service once it has");
  }
  const auto& root = self->state.ctx.policy.checkpoint_root;
  const std::string folder = it->second.checkpoint_name.empty() ? job : it->second.checkpoint_name;
  const fs::path file =
      fs::path(root) / spec.metadata.ns / folder / (pytorch ? "model.pt" : "model.cadre");
  if (root.empty() || !fs::is_regular_file(file, ec)) {
    return InvalidArgument(std::string(kUriField) + ": job " + spec::quote_value(job) +
                           " exported no model: " + file.string() +
                           " does not exist (cadre-train --export "
                           "\"$CADRE_CHECKPOINT_DIR/model.cadre\" writes it)");
  }
  return file.string();
}

// How an apply ends: Ok with "created", "updated" or "unchanged", or why not.
using AppliedFn = std::function<void(const Status&, const std::string& action)>;

void update_service(Self* self, ServiceApply apply, AppliedFn done) {
  auto& st = self->state;
  const std::string name = apply.spec.metadata.name;
  auto it = st.services.find(name);
  if (it == st.services.end())
    return done(AlreadyExists(service_ref(name) + " is being created"), "");
  self->request(it->second, st.ctx.policy.request_timeout, apply_atom::value, apply)
      .then([=](const Status& status, const std::string& action) { done(status, action); },
            [=](const caf::error& error) {
              done(Unavailable("the supervisor of " + service_ref(name) +
                               " did not answer: " + caf::to_string(error)),
                   "");
            });
}

void tell_ingress_state(Self* self, const std::string& name, const caf::actor& service) {
  const auto& st = self->state;
  self->send(service, ingress_atom::value, st.ingress_connected && st.synced.count(name) > 0,
             st.ingress_url);
}

void tell_all(Self* self) {
  for (const auto& [name, actor] : self->state.services) tell_ingress_state(self, name, actor);
}

// Whether a request to the service can be answered from this route: every
// revision with a share has a ready replica, or starts one on demand (at zero).
bool serving(const protocol::ServiceRoute& route) {
  bool any = false;
  for (const auto& rev : route.revisions) {
    if (rev.percent <= 0) continue;
    // At zero replicas the ingress serves it all the same: it holds the requests.
    if (rev.endpoints.empty() && !rev.activate) return false;
    any = true;
  }
  return any;
}

// The ingress has (at least) table `version`: services first served by it are synced.
void ingress_has(Self* self, uint64_t version) {
  auto& st = self->state;
  for (const auto& [name, since] : st.serving_since) {
    if (since > version || st.synced.count(name)) continue;
    st.synced.insert(name);
    auto actor = st.services.find(name);
    if (actor != st.services.end()) tell_ingress_state(self, name, actor->second);
  }
}

}  // namespace

namespace {

// Creates the service or gives it a new revision (a client's apply, or a pipeline
// step's deploy).
void apply_service_spec(Self* self, const spec::InferenceServiceSpec& spec,
                        const std::string& manifest_text, AppliedFn done) {
  auto& st = self->state;
  const std::string name = spec.metadata.name;
  auto model = resolve_model(self, spec);
  if (!model.ok()) return done(model.status(), "");
  ServiceApply apply{spec, manifest_text, *model};
  if (st.services.count(name) || st.creating_services.count(name)) {
    return update_service(self, std::move(apply), std::move(done));
  }
  const auto record =
      ServiceStateMachine::first_record(apply, protocol::new_job_token(), wall_ms());
  auto machine = ServiceStateMachine::Create(record, machine_options(st.ctx));
  if (!machine.ok()) return done(machine.status(), "");
  std::shared_ptr<ServiceStateMachine> owned(std::move(*machine));
  st.creating_services.insert(name);
  auto not_stored = [=](const Status& why) {
    self->state.creating_services.erase(name);
    done(Unavailable(service_ref(name) + " not created: " + why.message()), "");
  };
  // Acknowledge only what is durable: the reply waits for the store.
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, owned->record())
      .then(
          [=](const Status& stored) {
            if (!stored.ok()) return not_stored(stored);
            auto& s = self->state;
            s.creating_services.erase(name);
            s.service_summary[name] = owned->summary();
            auto actor = spawn_service(self->system(), s.ctx, owned);
            s.services[name] = actor;
            // Created first, so its first events (RevisionCreated, ...) come first.
            self->send(actor, start_atom::value);
            tell_ingress_state(self, name, actor);
            done(Status::Ok(), "created");
          },
          [=](const caf::error& error) {
            not_stored(Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

}  // namespace

void apply_service(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
                   const std::shared_ptr<const spec::Manifest>& manifest) {
  const std::string name = manifest->inference_service->metadata.name;
  apply_service_spec(self, *manifest->inference_service, request.manifest,
                     [=](const Status& status, const std::string& action) {
                       if (!status.ok())
                         return self->state.ctx.outbox->client_error(client, status);
                       self->state.ctx.outbox->client(
                           client, MessageKind::kApplyReply,
                           protocol::ApplyReply{"InferenceService", name, action});
                     });
}

void get_services(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  if (name.empty()) {
    protocol::GetReply reply;
    for (const auto& [n, status] : st.service_summary) reply.services.push_back(status);
    std::sort(reply.services.begin(), reply.services.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created_ms, a.name) < std::tie(b.created_ms, b.name);
    });
    return st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  }
  auto it = st.services.find(name);
  if (it == st.services.end()) {
    return st.ctx.outbox->client_error(client, NotFound(service_ref(name) + " not found"));
  }
  const auto timeout = st.ctx.policy.request_timeout;
  self->request(it->second, timeout, get_atom::value)
      .then(
          [=](protocol::InferenceServiceStatus status) {
            self->request(self->state.ctx.store, timeout, events_atom::value,
                          service_events_key(name))
                .then(
                    [=](const std::vector<protocol::JobEvent>& events) mutable {
                      status.events = events;
                      protocol::GetReply reply;
                      reply.services.push_back(std::move(status));
                      self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
                    },
                    answer_error(self, client, "the store (events of " + service_ref(name) + ")"));
          },
          answer_error(self, client, "the supervisor of " + service_ref(name)));
}

void delete_service(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  auto it = st.services.find(name);
  if (it == st.services.end()) {
    return st.ctx.outbox->client_error(client, NotFound(service_ref(name) + " not found"));
  }
  const auto& policy = st.ctx.policy;
  const auto timeout = 2 * (policy.request_timeout + std::chrono::seconds(40) + policy.lost_after);
  self->request(it->second, timeout, delete_atom::value)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{name});
          },
          [=](const caf::error& error) {
            self->state.ctx.outbox->client_error(
                client, Unavailable("the supervisor of " + service_ref(name) +
                                    " did not answer: " + caf::to_string(error)));
          });
}

void restore_services(Self* self, std::vector<ServiceRecord> restored) {
  auto& st = self->state;
  for (auto& record : restored) {
    const std::string name = record.status.name;
    auto machine = ServiceStateMachine::Create(std::move(record), machine_options(st.ctx));
    if (!machine.ok()) {
      spdlog::error("inferenceservice={} cannot be restored: {}", name,
                    machine.status().to_string());
      continue;
    }
    std::map<std::string, protocol::JobStatus> jobs;
    for (const auto& [job, status] : st.summary) {
      if (status.owner == kServiceOwner + name) jobs[job] = status;
    }
    st.service_summary[name] = (*machine)->summary();
    st.service_routes[name] = (*machine)->route();
    auto actor = spawn_service(self->system(), st.ctx, std::move(*machine));
    st.services[name] = actor;
    tell_ingress_state(self, name, actor);
    self->send(actor, adopt_atom::value, jobs);
  }
}

namespace {

void create_replica_job(Self* self, caf::response_promise promise, const std::string& job,
                        const std::string& yaml, const std::string& service,
                        const std::string& token) {
  auto manifest = spec::parse_manifest(yaml, spec::ManifestLimits::none());
  if (!manifest.ok()) {
    promise.deliver(manifest.status().annotate("replica job " + job));
    return;
  }
  JobOrigin origin;
  origin.owner = kServiceOwner + service;
  origin.token = token;
  origin.readiness_path = kReplicaReadinessPath;
  origin.done = [promise](const Status& status, const std::string&) mutable {
    promise.deliver(status);
  };
  create_job(self, std::make_shared<const spec::Manifest>(std::move(*manifest)), yaml,
             std::move(origin));
}

// A supervisor's new status and route: a changed route is a new table version;
// a service that stops serving is no longer known to be in the ingress's table.
void take_service_status(Self* self, const protocol::InferenceServiceStatus& status,
                         const protocol::ServiceRoute& route) {
  auto& st = self->state;
  if (!st.services.count(status.name)) return;
  st.service_summary[status.name] = status;
  auto old = st.service_routes.find(status.name);
  if (old == st.service_routes.end() || protocol::encode(old->second) != protocol::encode(route)) {
    st.service_routes[status.name] = route;
    st.routes_version++;
  }
  if (!serving(route)) {
    st.serving_since.erase(status.name);
    if (st.synced.erase(status.name))
      tell_ingress_state(self, status.name, st.services[status.name]);
  } else if (!st.serving_since.count(status.name)) {
    st.serving_since[status.name] = st.routes_version;
  }
}

// An ingress's poll: what it measured goes to the services, what it redeemed
// and saw of notebooks to their owners; the answer is the table, when it changed.
void answer_routes(Self* self, const ClientRef& ingress, const protocol::RoutesRequest& request) {
  auto& st = self->state;
  st.ingress_polled = std::chrono::steady_clock::now();
  const bool news = !st.ingress_connected || request.url != st.ingress_url;
  st.ingress_connected = true;
  st.ingress_url = request.url;
  if (news) tell_all(self);
  ingress_has(self, request.version);
  // Bounded by the ingress's own table: at most one entry per revision it routes to.
  for (const auto& load : request.load) {
    auto service = st.services.find(load.service);
    if (service == st.services.end()) continue;
    self->send(service->second, load_atom::value, ingress.identity, load.revision, load.concurrency,
               load.rps);
  }
  forward_notebook_activity(self, request.notebooks);
  redeem_login_codes(self, request.redeemed);
  protocol::RoutesReply reply;
  reply.version = st.routes_version;
  reply.changed = request.version != st.routes_version;
  if (reply.changed) {
    for (const auto& [name, route] : st.service_routes) reply.services.push_back(route);
    reply.tokens = ingress_tokens(self);
    reply.login_codes = ingress_login_codes(self);
    add_notebook_routes(self, reply);
  }
  st.ctx.outbox->to_ingress(ingress, MessageKind::kRoutesReply, protocol::encode(reply));
}

}  // namespace

caf::message_handler service_requests(Self* self) {
  return {
      // Create a replica's job (answered once it is stored, or with why not).
      [=](replica_atom, const std::string& job, const std::string& yaml, const std::string& service,
          const std::string& token) {
        create_replica_job(self, self->make_response_promise(), job, yaml, service, token);
      },
      [=](status_atom, const protocol::InferenceServiceStatus& status,
          const protocol::ServiceRoute& route) { take_service_status(self, status, route); },
      // A pipeline step deploys a service (answered once applied, or with why not).
      [=](apply_atom, service_atom, const std::string& yaml) {
        auto promise = self->make_response_promise();
        auto manifest = spec::parse_manifest(yaml);
        if (!manifest.ok() || !manifest->inference_service) {
          promise.deliver(manifest.ok() ? InvalidArgument("not an InferenceService")
                                        : manifest.status());
          return;
        }
        apply_service_spec(self, *manifest->inference_service, yaml,
                           [promise](const Status& status, const std::string&) mutable {
                             promise.deliver(status);
                           });
      },
      // A service as the list has it (its supervisor keeps it current).
      [=](get_atom, service_atom, const std::string& name) {
        auto promise = self->make_response_promise();
        auto& st = self->state;
        auto it = st.service_summary.find(name);
        if (it == st.service_summary.end()) {
          promise.deliver(NotFound(service_ref(name) + " not found"),
                          protocol::InferenceServiceStatus{});
          return;
        }
        promise.deliver(Status::Ok(), it->second);
      },
      [=](gone_atom, service_atom, const std::string& name) {
        auto& st = self->state;
        st.services.erase(name);
        st.service_summary.erase(name);
        if (st.service_routes.erase(name)) st.routes_version++;
        st.serving_since.erase(name);
        st.synced.erase(name);
      },
      // An ingress asks for the table; it polls, so its polls also say it is alive.
      [=](routes_atom, const ClientRef& ingress, const protocol::RoutesRequest& request) {
        answer_routes(self, ingress, request);
      },
      // Once a second: has the ingress gone quiet?
      [=](ingress_atom) {
        auto& st = self->state;
        if (st.ingress_connected &&
            std::chrono::steady_clock::now() - st.ingress_polled > kIngressSilence) {
          st.ingress_connected = false;
          spdlog::warn("no cadre-ingress has polled for routes for {} s",
                       std::chrono::duration_cast<std::chrono::seconds>(kIngressSilence).count());
          st.synced.clear();
          tell_all(self);
        }
        self->delayed_send(self, std::chrono::seconds(1), ingress_atom::value);
      },
  };
}

void forward_service_status(Self* self, const protocol::JobStatus& job) {
  if (auto service = service_of_owner(self, job.owner)) {
    self->send(*service, status_atom::value, job);
  }
}

void forward_service_gone(Self* self, const std::string& job, const std::string& owner) {
  if (auto service = service_of_owner(self, owner)) self->send(*service, gone_atom::value, job);
}

bool forward_service_evict(Self* self, const protocol::JobStatus& job) {
  auto service = service_of_owner(self, job.owner);
  if (service) self->send(*service, evict_atom::value, job.name);
  return service.has_value();
}

}  // namespace cadre::actors::manager

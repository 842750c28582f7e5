// The manager's side of notebooks: admitting and updating them, answering get and
// delete, restoring them after a restart, and creating and deleting the server jobs
// their supervisors ask for (pinned to the notebook's node once it has one).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "actors/manager_state.h"
#include "protocol/peer_auth.h"
#include "protocol/spec/manifest.h"
#include "protocol/user_tokens.h"
#include "protocol/wall_clock.h"

namespace cadre::actors::manager {
namespace {

using protocol::MessageKind;
using Self = ManagerSelf;

constexpr const char* kNotebookOwner = "notebook/";

std::string notebook_ref(const std::string& name) { return "notebook/" + name; }

bool same_route(const protocol::NotebookRoute& a, const protocol::NotebookRoute& b) {
  return std::tie(a.name, a.ns, a.phase, a.reason, a.message, a.ready, a.address, a.port, a.job,
                  a.token) == std::tie(b.name, b.ns, b.phase, b.reason, b.message, b.ready,
                                       b.address, b.port, b.job, b.token);
}

// Where users open it: through the ingress that last polled (none yet: empty).
protocol::NotebookStatus with_url(const Self* self, protocol::NotebookStatus status) {
  const auto& ingress = self->state.ingress_url;
  status.url = ingress.empty() ? "" : ingress + notebook_base_url(status.ns, status.name);
  return status;
}

std::optional<caf::actor> notebook_of_owner(Self* self, const std::string& owner) {
  const std::string prefix = kNotebookOwner;
  if (owner.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  auto it = self->state.notebooks.find(owner.substr(prefix.size()));
  if (it == self->state.notebooks.end()) return std::nullopt;
  return it->second;
}

NotebookMachineOptions machine_options(const ActorContext& ctx) {
  NotebookMachineOptions options;
  options.store_retry = ctx.policy.store_retry;
  options.checkpoint_root = ctx.policy.checkpoint_root;
  options.client_endpoint = ctx.policy.client_endpoint;
  options.server_public_key = ctx.policy.server_public_key;
  return options;
}

// Its kernels' key is allowed on the client port, scoped to its namespace, and its
// ingress token joins the routes, for as long as the notebook exists.
void grant_notebook_keys(Self* self, const protocol::NotebookRoute& route) {
  auto& st = self->state;
  auto credentials = notebook_credentials(route.token);
  if (!credentials.ok()) {
    spdlog::error("notebook={} gets no client key: {}", route.name,
                  credentials.status().to_string());
    return;
  }
  if (st.ctx.client_keys) st.ctx.client_keys->allow(credentials->client_public_key, route.ns);
  st.notebook_keys[route.name] = {route.ns, std::move(*credentials)};
}

void revoke_notebook_keys(Self* self, const std::string& name) {
  auto& st = self->state;
  auto it = st.notebook_keys.find(name);
  if (it == st.notebook_keys.end()) return;
  if (st.ctx.client_keys) st.ctx.client_keys->revoke(it->second.credentials.client_public_key);
  st.notebook_keys.erase(it);
}

void answer_apply(Self* self, const ClientRef& client, const std::string& name,
                  const Status& status, const std::string& action) {
  if (!status.ok()) return self->state.ctx.outbox->client_error(client, status);
  self->state.ctx.outbox->client(client, MessageKind::kApplyReply,
                                 protocol::ApplyReply{"Notebook", name, action});
}

}  // namespace

void apply_notebook(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
                    const std::shared_ptr<const spec::Manifest>& manifest) {
  auto& st = self->state;
  const spec::NotebookSpec& spec = *manifest->notebook;
  const std::string name = spec.metadata.name;
  NotebookApply apply{spec, request.manifest};
  auto existing = st.notebooks.find(name);
  if (existing != st.notebooks.end()) {
    self->request(existing->second, st.ctx.policy.request_timeout, apply_atom::value, apply)
        .then([=](const Status& status,
                  const std::string& action) { answer_apply(self, client, name, status, action); },
              [=](const caf::error& error) {
                answer_apply(self, client, name,
                             Unavailable("the supervisor of " + notebook_ref(name) +
                                         " did not answer: " + caf::to_string(error)),
                             "");
              });
    return;
  }
  if (st.creating_notebooks.count(name)) {
    return answer_apply(self, client, name, AlreadyExists(notebook_ref(name) + " is being created"),
                        "");
  }
  auto machine = NotebookStateMachine::Create(
      NotebookStateMachine::first_record(apply, protocol::new_job_token(), wall_ms()),
      machine_options(st.ctx));
  if (!machine.ok()) return answer_apply(self, client, name, machine.status(), "");
  std::shared_ptr<NotebookStateMachine> owned(std::move(*machine));
  st.creating_notebooks.insert(name);
  auto not_stored = [=](const Status& why) {
    self->state.creating_notebooks.erase(name);
    answer_apply(self, client, name,
                 Unavailable(notebook_ref(name) + " not created: " + why.message()), "");
  };
  // Acknowledge only what is durable: the reply waits for the store.
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, owned->record())
      .then(
          [=](const Status& stored) {
            if (!stored.ok()) return not_stored(stored);
            auto& s = self->state;
            s.creating_notebooks.erase(name);
            s.notebook_summary[name] = owned->summary();
            auto actor = spawn_notebook(self->system(), s.ctx, owned);
            s.notebooks[name] = actor;
            self->send(actor, start_atom::value);
            answer_apply(self, client, name, Status::Ok(), "created");
          },
          [=](const caf::error& error) {
            not_stored(Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

void get_notebooks(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  if (name.empty()) {
    protocol::GetReply reply;
    for (const auto& [n, status] : st.notebook_summary) {
      reply.notebooks.push_back(with_url(self, status));
    }
    std::sort(reply.notebooks.begin(), reply.notebooks.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created_ms, a.name) < std::tie(b.created_ms, b.name);
    });
    return st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  }
  auto it = st.notebooks.find(name);
  if (it == st.notebooks.end()) {
    return st.ctx.outbox->client_error(client, NotFound(notebook_ref(name) + " not found"));
  }
  const auto timeout = st.ctx.policy.request_timeout;
  self->request(it->second, timeout, get_atom::value)
      .then(
          [=](protocol::NotebookStatus status) {
            self->request(self->state.ctx.store, timeout, events_atom::value,
                          notebook_events_key(name))
                .then(
                    [=](const std::vector<protocol::JobEvent>& events) mutable {
                      status.events = events;
                      protocol::GetReply reply;
                      reply.notebooks.push_back(with_url(self, std::move(status)));
                      self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
                    },
                    answer_error(self, client, "the store (events of " + notebook_ref(name) + ")"));
          },
          answer_error(self, client, "the supervisor of " + notebook_ref(name)));
}

void delete_notebook(Self* self, const ClientRef& client, const std::string& name, bool purge) {
  auto& st = self->state;
  auto it = st.notebooks.find(name);
  if (it == st.notebooks.end()) {
    return st.ctx.outbox->client_error(client, NotFound(notebook_ref(name) + " not found"));
  }
  const auto& policy = st.ctx.policy;
  // A purge adds its job on the workspace's node, bounded by the purge timeout.
  const auto timeout = 2 * (policy.request_timeout + std::chrono::seconds(40) + policy.lost_after) +
                       (purge ? machine_options(st.ctx).purge_timeout + policy.request_timeout
                              : std::chrono::milliseconds(0));
  self->request(it->second, timeout, delete_atom::value, purge)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{name});
          },
          [=](const caf::error& error) {
            self->state.ctx.outbox->client_error(
                client, Unavailable("the supervisor of " + notebook_ref(name) +
                                    " did not answer: " + caf::to_string(error)));
          });
}

void restore_notebooks(Self* self, std::vector<NotebookRecord> restored) {
  auto& st = self->state;
  for (auto& record : restored) {
    const std::string name = record.status.name;
    auto machine = NotebookStateMachine::Create(std::move(record), machine_options(st.ctx));
    if (!machine.ok()) {
      spdlog::error("notebook={} cannot be restored: {}", name, machine.status().to_string());
      continue;
    }
    std::map<std::string, protocol::JobStatus> jobs;
    for (const auto& [job, status] : st.summary) {
      if (status.owner == kNotebookOwner + name) jobs[job] = status;
    }
    st.notebook_summary[name] = (*machine)->summary();
    auto actor = spawn_notebook(self->system(), st.ctx, std::move(*machine));
    st.notebooks[name] = actor;
    self->send(actor, adopt_atom::value, jobs);
  }
}

caf::message_handler notebook_requests(Self* self) {
  return {
      // Create a server's job (answered once it is stored, or with why not).
      [=](notebook_atom, const std::string& job, const std::string& yaml,
          const std::string& notebook, const std::string& token, const std::string& node) {
        auto promise = self->make_response_promise();
        auto manifest = spec::parse_manifest(yaml, spec::ManifestLimits::none());
        if (!manifest.ok()) {
          promise.deliver(manifest.status().annotate("server job " + job));
          return;
        }
        JobOrigin origin;
        origin.owner = kNotebookOwner + notebook;
        origin.token = token;
        origin.checkpoint_name = notebook_folder(notebook);
        // Jupyter answers <base_url>api (its version) without a token.
        origin.readiness_path = notebook_base_url(manifest->metadata.ns, notebook) + "api";
        origin.pinned_node = node;
        origin.done = [promise](const Status& status, const std::string&) mutable {
          promise.deliver(status);
        };
        create_job(self, std::make_shared<const spec::Manifest>(std::move(*manifest)), yaml,
                   std::move(origin));
      },
      [=](status_atom, const protocol::NotebookStatus& status,
          const protocol::NotebookRoute& route) {
        auto& st = self->state;
        if (!st.notebooks.count(status.name)) return;
        st.notebook_summary[status.name] = status;
        auto& known = st.notebook_routes[status.name];
        if (!same_route(known, route)) {
          if (known.token != route.token) grant_notebook_keys(self, route);
          known = route;
          st.routes_version++;
        }
      },
      [=](gone_atom, notebook_atom, const std::string& name) {
        auto& st = self->state;
        st.notebooks.erase(name);
        st.notebook_summary.erase(name);
        revoke_notebook_keys(self, name);
        if (st.notebook_routes.erase(name)) st.routes_version++;
      },
  };
}

void add_notebook_routes(Self* self, protocol::RoutesReply& reply) {
  for (const auto& [name, route] : self->state.notebook_routes) reply.notebooks.push_back(route);
  for (const auto& [name, keys] : self->state.notebook_keys) {
    reply.tokens.push_back({protocol::token_sha256(keys.credentials.ingress_token), keys.ns, 0});
  }
}

void forward_notebook_activity(Self* self, const std::vector<protocol::NotebookActivity>& seen) {
  // Bounded by the notebooks that exist: others are dropped here.
  for (const auto& activity : seen) {
    auto it = self->state.notebooks.find(activity.name);
    if (it != self->state.notebooks.end()) self->send(it->second, load_atom::value, activity);
  }
}

void forward_notebook_status(Self* self, const protocol::JobStatus& job) {
  if (auto notebook = notebook_of_owner(self, job.owner)) {
    self->send(*notebook, status_atom::value, job);
  }
}

void forward_notebook_gone(Self* self, const std::string& job, const std::string& owner) {
  if (auto notebook = notebook_of_owner(self, owner)) self->send(*notebook, gone_atom::value, job);
}

}  // namespace cadre::actors::manager

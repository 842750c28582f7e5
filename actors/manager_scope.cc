// The manager's side of namespace-scoped client keys (actors/client_scope.h): before
// a scoped client's delete, log read, metrics read, retry or token request acts,
// the object's namespace is looked up in the summaries the manager keeps and
// checked against the key's. Lists are filtered on their way out (outbox.h).
#include "actors/client_scope.h"
#include "actors/manager_state.h"

namespace cadre::actors::manager {
namespace {

template <typename Map>
std::optional<std::string> ns_in(const Map& summaries, const std::string& name) {
  auto it = summaries.find(name);
  if (it == summaries.end()) return std::nullopt;
  return it->second.ns;
}

// The object's namespace; "" for what belongs to the whole cluster; nullopt when
// there is no such object (the request's own handler then says so).
std::optional<std::string> namespace_of(ManagerSelf* self, const std::string& resource,
                                        const std::string& name) {
  const auto& st = self->state;
  if (resource == "jobs" || resource == "trainjobs") return ns_in(st.summary, name);
  if (resource == "experiments") return ns_in(st.experiment_summary, name);
  if (resource == "inferenceservices") return ns_in(st.service_summary, name);
  if (resource == "runs") return ns_in(st.run_summary, name);
  if (resource == "recurringruns") return ns_in(st.recurring_summary, name);
  if (resource == "notebooks") return ns_in(st.notebook_summary, name);
  if (resource == "tokens") {
    auto it = st.tokens.find(name);
    if (it == st.tokens.end()) return std::nullopt;
    return it->second.info.ns;
  }
  return std::string();  // nodes, pipelines
}

}  // namespace

bool in_scope(ManagerSelf* self, const ClientRef& client, const std::string& resource,
              const std::string& name) {
  if (client.ns.empty()) return true;
  const auto ns = namespace_of(self, resource, name);
  // A missing object is the handler's to report; for a scoped key, in its own words.
  const Status status = check_scope(client.ns, ns ? *ns : client.ns, resource + "/" + name);
  if (status.ok()) return true;
  self->state.ctx.outbox->client_error(client, status);
  return false;
}

bool in_scope_namespace(ManagerSelf* self, const ClientRef& client, const std::string& ns,
                        const std::string& what) {
  if (client.ns.empty() || client.ns == ns) return true;
  self->state.ctx.outbox->client_error(
      client, PermissionDenied("this key acts in namespace '" + client.ns + "' only; " + what +
                               " is for namespace '" + ns + "'"));
  return false;
}

}  // namespace cadre::actors::manager

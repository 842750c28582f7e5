#include "actors/client_scope.h"

#include <algorithm>

namespace cadre::actors {
namespace {

template <typename T>
void keep_namespace(std::vector<T>& items, const std::string& scope) {
  items.erase(
      std::remove_if(items.begin(), items.end(), [&](const T& item) { return item.ns != scope; }),
      items.end());
}

}  // namespace

protocol::GetReply within_scope(protocol::GetReply reply, const std::string& scope) {
  if (scope.empty()) return reply;
  keep_namespace(reply.jobs, scope);
  keep_namespace(reply.experiments, scope);
  keep_namespace(reply.services, scope);
  keep_namespace(reply.tokens, scope);
  keep_namespace(reply.runs, scope);
  keep_namespace(reply.recurring_runs, scope);
  keep_namespace(reply.notebooks, scope);
  return reply;  // nodes, pipelines and queues are the cluster's
}

Status check_scope(const std::string& scope, const std::string& ns, const std::string& what) {
  if (scope.empty()) return Status::Ok();
  if (ns.empty()) {
    return PermissionDenied(what + " belongs to the whole cluster; a key scoped to namespace '" +
                            scope + "' may not change it");
  }
  if (ns != scope) return NotFound(what + " not found in namespace '" + scope + "'");
  return Status::Ok();
}

}  // namespace cadre::actors

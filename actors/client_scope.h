// What a namespace-scoped client key may see and do (ClientRef::ns): a notebook's
// kernels hold one, and an operator may issue them ("namespace = team-a" in a
// client .pub). It sees its namespace's objects, plus the cluster's nodes and
// pipelines (shared definitions, as KFP's are), and changes only its namespace's.
// Pure functions; the manager applies them (actors/manager_scope.cc), and every
// GetReply passes within_scope() on its way out (actors/outbox.h).
#pragma once

#include <string>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::actors {

// The reply with only what `scope` covers; an empty scope keeps everything.
protocol::GetReply within_scope(protocol::GetReply reply, const std::string& scope);

// Ok when a client scoped to `scope` may act on `what` (e.g. "notebook/alice") in
// namespace `ns`. Otherwise NotFound, worded as for a missing object, so a scoped
// key learns nothing of other namespaces. `ns` empty: a cluster-wide object (a node,
// a pipeline), which only an unscoped key may change.
Status check_scope(const std::string& scope, const std::string& ns, const std::string& what);

}  // namespace cadre::actors

#include "client/job_commands.h"

namespace cadre::client {

Status suspend_job(Coordinator& coordinator, const ResourceRef& ref, bool suspend,
                   std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::SuspendReply reply, coordinator.suspend(protocol::SuspendRequest{
                                                     ref.type.resource, ref.name, suspend}));
  const std::string what = ref.type.singular + "/" + reply.name;
  if (reply.changed) {
    out << what << (suspend ? " suspended" : " resumed") << "\n";
  } else {
    out << what << (suspend ? " already suspended" : " is not suspended") << "\n";
  }
  return Status::Ok();
}

}  // namespace cadre::client

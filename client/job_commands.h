// What the client does to a Job or TrainJob itself, past get, describe, logs and
// delete: suspend and resume it.
#pragma once

#include <ostream>

#include "client/coordinator.h"
#include "client/resource_ref.h"

namespace cadre::client {

// `cadre suspend KIND/NAME` (`suspend` true) and `cadre resume`: prints
// "trainjob/NAME suspended" or "resumed", or "already suspended" / "is not
// suspended" when nothing changed. The coordinator refuses a finished job, and one
// an experiment, pipeline run, service or notebook owns.
Status suspend_job(Coordinator& coordinator, const ResourceRef& ref, bool suspend,
                   std::ostream& out);

}  // namespace cadre::client

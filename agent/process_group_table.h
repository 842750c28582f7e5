// Where the process launcher records the process group of every replica it has
// started and not yet reaped, so that something other than the agent's loop (the
// lease watchdog, agent/lease_watchdog.h) can kill them when the loop cannot.
#pragma once

#include <sys/types.h>

#include "protocol/status.h"

namespace cadre::agent {

class ProcessGroupTable {
 public:
  virtual ~ProcessGroupTable() = default;
  // Records a live group. FailedPrecondition when the table is full.
  virtual Status add(pid_t pgid) = 0;
  // Forgets a group. Called before its leader is reaped, while the id cannot yet
  // be reused, so nothing ever kills a recycled group id.
  virtual void remove(pid_t pgid) = 0;
};

}  // namespace cadre::agent

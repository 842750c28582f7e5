// What `cadre get queues` shows of each scheduling queue: its quota, cohort and
// borrowing, what its placed gangs hold, and how many gangs wait or are placed.
// Built from the scheduler's pure core, so it is tested without CAF.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/scheduler.h"
#include "protocol/messages.h"

namespace cadre::actors {

// A gang waiting in the scheduler's queue: its job and its schedulingPolicy.queue.
struct WaitingGang {
  std::string job;
  std::string queue;
};

// Every queue with a quota, then any other that has a gang waiting (`waiting`, in the
// order the scheduler tries them) or placed; sorted by name. With `only`, just that
// queue (none when it is neither), with its pending and admitted jobs listed.
std::vector<protocol::QueueStatus> queue_statuses(const Scheduler& scheduler,
                                                  const std::vector<WaitingGang>& waiting,
                                                  const std::string& only = "");

}  // namespace cadre::actors

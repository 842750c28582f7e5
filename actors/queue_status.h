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

// Every queue with a quota, then any other that has a gang waiting (`pending`, gangs
// per queue) or placed; sorted by name.
std::vector<protocol::QueueStatus> queue_statuses(const Scheduler& scheduler,
                                                  const std::map<std::string, int32_t>& pending);

}  // namespace cadre::actors

// `cadre local up` and `cadre local down`: a coordinator and N agents on
// 127.0.0.1 as background processes, with keys, state and logs under one folder.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "client/local_layout.h"

namespace cadre::client {

// Generates keys once, starts the coordinator, waits for its endpoints file,
// starts the agents, writes DIR/config and waits until every agent is Ready.
// A cluster already running from DIR is left alone (and reported, Ok). When a
// process dies during start-up, whatever was started is stopped again and the
// error carries the tail of that process's log.
Status local_up(const LocalUpOptions& options, std::ostream& out);

// SIGTERM agents then the coordinator, SIGKILL after `grace`; safe to repeat.
Status local_down(const std::string& dir, std::chrono::milliseconds grace, std::ostream& out);

}  // namespace cadre::client

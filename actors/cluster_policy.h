// Timings, limits and paths the actors follow; parsed once by the coordinator's config.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cadre::actors {

struct ClusterPolicy {
  std::chrono::milliseconds heartbeat_interval{1000};  // what agents are told to use
  std::chrono::milliseconds not_ready_after{5000};     // silence before NotReady
  std::chrono::milliseconds lost_after{15000};         // silence before Lost
  std::chrono::milliseconds kill_grace{10000};         // SIGTERM to SIGKILL, unless the spec says
  std::chrono::milliseconds log_read_timeout{5000};    // an agent that does not answer a log read
  std::chrono::milliseconds lease{10000};  // agents' fencing lease (RegisterReply.lease_ms); 0: off
  std::string checkpoint_root;             // CADRE_CHECKPOINT_DIR = <root>/<namespace>/<job>
};

}  // namespace cadre::actors

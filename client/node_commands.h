// What the client does to nodes themselves (`get` and `describe` list them).
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "client/coordinator.h"

namespace cadre::client {

// `cadre cordon NODE` (`cordon` true) and `uncordon`, as kubectl's: prints
// "node/NAME cordoned", or "node/NAME already cordoned" when nothing changed.
Status cordon_node(Coordinator& coordinator, const std::string& node, bool cordon,
                   std::ostream& out);

struct DrainOptions {
  std::string node;
  std::chrono::milliseconds timeout{300000};  // --timeout: how long to wait for the node to empty
  // Between looks: what runs on a node changes at heartbeats (1 s by default).
  std::chrono::milliseconds poll_interval{1000};
};

// `cadre drain NODE`, as kubectl's: cordons the node, has every job with a replica
// running there restart its gang elsewhere (reason Evicted, not counted against
// its backoffLimit), and waits until nothing runs there, printing each replica it
// waits for once ("evicting trainjob/fmnist worker-1") and "node/NAME drained".
// DeadlineExceeded, naming what still runs, when the node is not empty in time.
Status drain_node(Coordinator& coordinator, const DrainOptions& options, std::ostream& out);

}  // namespace cadre::client

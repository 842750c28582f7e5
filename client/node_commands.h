// What the client does to nodes themselves (`get` and `describe` list them).
#pragma once

#include <ostream>
#include <string>

#include "client/coordinator.h"

namespace cadre::client {

// `cadre cordon NODE` (`cordon` true) and `uncordon`, as kubectl's: prints
// "node/NAME cordoned", or "node/NAME already cordoned" when nothing changed.
Status cordon_node(Coordinator& coordinator, const std::string& node, bool cordon,
                   std::ostream& out);

}  // namespace cadre::client

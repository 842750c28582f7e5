// Whether a TCP port the coordinator reserved for a replica is really free here.
//
// The coordinator hands out ports from the agent's --port-range and tracks which
// it gave to whom, but it cannot see other programs on the host. A replica that
// starts on a taken port fails late and obscurely (a rendezvous that never forms),
// so the agent checks first and reports PortInUse instead of starting it. The check
// is a moment's snapshot: a program may still take the port before the replica
// binds it.
#pragma once

#include <cstdint>

#include "protocol/status.h"

namespace cadre::agent {

// Binds `port` on INADDR_ANY over TCP with SO_REUSEADDR, then closes it.
// SO_REUSEADDR so that a port whose previous replica left connections in
// TIME_WAIT counts as free, as it is for a program that sets it too (most
// frameworks do); a listening socket still makes the bind fail. Errors:
// InvalidArgument for a port outside 1..65535, AlreadyExists when the port is in
// use ("port 31005 is in use: Address already in use"), Internal otherwise.
Status check_port_free(int32_t port);

}  // namespace cadre::agent

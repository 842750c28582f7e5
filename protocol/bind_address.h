// Which address a replica's listener binds: the node's advertised address (the
// host of its own CADRE_PEERS / TF_CONFIG entry), so that a rank's port is not open
// on every interface of the node.
#pragma once

#include <string>

#include "protocol/status.h"

namespace cadre::protocol {

// The IPv4 address `host` resolves to, or "*" (all interfaces) for an empty host
// or "0.0.0.0", and for a host that resolves to loopback although it is not a
// loopback name: Debian maps the hostname to 127.0.1.1, and binding there would
// make the rank unreachable from other nodes (every channel is authenticated
// anyway, protocol/peer_auth.h). Unavailable when the host does not resolve.
Result<std::string> bind_address_for(const std::string& host);

}  // namespace cadre::protocol

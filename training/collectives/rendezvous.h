// The environment contract of DESIGN.md for collectives, read in one place:
// CADRE_RANK / CADRE_WORLD_SIZE / CADRE_PEERS, or torchrun's MASTER_ADDR /
// MASTER_PORT / RANK / WORLD_SIZE; and the master-form rendezvous that turns the
// latter into a peer list.
#pragma once

#include <map>
#include <string>

#include "training/collectives/communicator.h"

namespace cadre::training {

// Parses env (a snapshot of the process environment). CADRE_* wins when both
// forms are present. No variables at all means a single rank. Errors name the
// variable and the value.
Result<RendezvousOptions> rendezvous_from_environment(
    const std::map<std::string, std::string>& env);

// Master form: rank 0 accepts a RendezvousJoin from every other rank on
// master_port and answers each with the full peer list. my_address is this
// rank's own listener (host:port). Returns the rank-ordered peers.
Result<std::vector<std::string>> exchange_peers_via_master(const RendezvousOptions& options,
                                                           const std::string& my_address);

}  // namespace cadre::training

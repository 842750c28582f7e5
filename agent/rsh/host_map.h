// Where cadre-rsh finds its peers: the Launcher's CADRE_MPI_HOSTS map from MPI
// host names to replica endpoints, and a Worker's own port in CADRE_PEERS
// (DESIGN.md, "Replica environment contract"; docs/mpi.md).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace cadre::agent::rsh {

struct Endpoint {
  std::string host;  // name or address; an IPv6 address without brackets
  int port = 0;      // 1..65535
  std::string to_string() const;
};

// "host:port" or "[v6]:port". InvalidArgument quoting the text otherwise.
Result<Endpoint> parse_endpoint(std::string_view text);

// MPI host name (as in the hostfile) -> the Worker's cadre-rsh endpoint.
using HostMap = std::map<std::string, Endpoint, std::less<>>;

// "name=host:port,name=host:port,...". Empty entries, a missing '=', an empty or
// repeated name and a bad endpoint are errors naming the entry.
Result<HostMap> parse_host_map(std::string_view text);

// Entry `rank` of a CADRE_PEERS list ("host:port,host:port,...").
Result<Endpoint> own_endpoint_from_peers(std::string_view peers, int rank);

}  // namespace cadre::agent::rsh

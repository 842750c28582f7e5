#include "agent/rsh/host_map.h"

#include <charconv>
#include <vector>

namespace cadre::agent::rsh {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

Result<int> parse_port(std::string_view text, std::string_view whole) {
  int port = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || port < 1 ||
      port > 65535) {
    return InvalidArgument("'" + std::string(whole) + "': port '" + std::string(text) +
                           "' is not a number in 1..65535");
  }
  return port;
}

}  // namespace

std::string Endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint endpoint;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("'" + std::string(text) + "': expected [address]:port");
    }
    endpoint.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument("'" + std::string(text) + "': expected host:port");
    }
    endpoint.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (endpoint.host.find(':') != std::string::npos) {
      return InvalidArgument("'" + std::string(text) + "': put an IPv6 address in brackets");
    }
  }
  if (endpoint.host.empty()) return InvalidArgument("'" + std::string(text) + "': empty host");
  ASSIGN_OR_RETURN(endpoint.port, parse_port(port, text));
  return endpoint;
}

Result<HostMap> parse_host_map(std::string_view text) {
  if (text.empty()) return InvalidArgument("CADRE_MPI_HOSTS is empty");
  HostMap hosts;
  for (std::string_view entry : split(text, ',')) {
    if (entry.empty()) {
      return InvalidArgument("CADRE_MPI_HOSTS: empty entry in '" + std::string(text) + "'");
    }
    const size_t equals = entry.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return InvalidArgument("CADRE_MPI_HOSTS: entry '" + std::string(entry) +
                             "' is not name=host:port");
    }
    const std::string_view name = entry.substr(0, equals);
    auto endpoint = parse_endpoint(entry.substr(equals + 1));
    if (!endpoint.ok()) return endpoint.status().annotate("CADRE_MPI_HOSTS: " + std::string(name));
    if (!hosts.emplace(std::string(name), *endpoint).second) {
      return InvalidArgument("CADRE_MPI_HOSTS: host '" + std::string(name) + "' appears twice");
    }
  }
  return hosts;
}

Result<Endpoint> own_endpoint_from_peers(std::string_view peers, int rank) {
  const std::vector<std::string_view> entries = split(peers, ',');
  if (peers.empty() || rank < 0 || static_cast<size_t>(rank) >= entries.size()) {
    return InvalidArgument("CADRE_RANK=" + std::to_string(rank) + " has no entry in CADRE_PEERS '" +
                           std::string(peers) + "'");
  }
  auto endpoint = parse_endpoint(entries[static_cast<size_t>(rank)]);
  if (!endpoint.ok())
    return endpoint.status().annotate("CADRE_PEERS[" + std::to_string(rank) + "]");
  return *endpoint;
}

}  // namespace cadre::agent::rsh

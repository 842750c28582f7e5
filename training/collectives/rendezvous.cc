#include "training/collectives/rendezvous.h"

#include <sstream>

#include <optional>

#include "protocol/peer_auth.h"
#include "protocol/ps_messages.h"
#include "training/collectives/socket.h"

namespace cadre::training {
namespace {

Result<int> parse_int(const std::map<std::string, std::string>& env, const std::string& key, int lo,
                      int hi) {
  const std::string& text = env.at(key);
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    return InvalidArgument(key + "='" + text + "': must be an integer in [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
  return static_cast<int>(v);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

Result<RendezvousOptions> rendezvous_from_environment(
    const std::map<std::string, std::string>& env) {
  RendezvousOptions o;
  auto has = [&](const char* k) { return env.count(k) > 0 && !env.at(k).empty(); };
  constexpr int kMaxWorld = 1 << 16;
  if (has("CADRE_JOB_TOKEN")) {
    o.token = env.at("CADRE_JOB_TOKEN");
    RETURN_IF_ERROR(protocol::JobCredentials::FromToken(o.token).status());
  }
  if (has("CADRE_WORLD_SIZE") || has("CADRE_RANK") || has("CADRE_PEERS")) {
    if (!has("CADRE_WORLD_SIZE") || !has("CADRE_RANK"))
      return InvalidArgument("CADRE_RANK and CADRE_WORLD_SIZE must be set together");
    ASSIGN_OR_RETURN(o.world_size, parse_int(env, "CADRE_WORLD_SIZE", 1, kMaxWorld));
    ASSIGN_OR_RETURN(o.rank, parse_int(env, "CADRE_RANK", 0, o.world_size - 1));
    if (o.world_size > 1) {
      if (!has("CADRE_PEERS"))
        return InvalidArgument("CADRE_PEERS: required when CADRE_WORLD_SIZE=" +
                               std::to_string(o.world_size));
      o.peers = split_commas(env.at("CADRE_PEERS"));
      if (static_cast<int>(o.peers.size()) != o.world_size)
        return InvalidArgument("CADRE_PEERS: lists " + std::to_string(o.peers.size()) +
                               " addresses but CADRE_WORLD_SIZE=" + std::to_string(o.world_size));
      for (const auto& p : o.peers) {
        auto parsed = net::parse_host_port(p);
        if (!parsed.ok()) return parsed.status().annotate("CADRE_PEERS");
      }
    }
    return o;
  }
  if (has("WORLD_SIZE") || has("RANK")) {
    if (!has("WORLD_SIZE") || !has("RANK"))
      return InvalidArgument("RANK and WORLD_SIZE must be set together");
    ASSIGN_OR_RETURN(o.world_size, parse_int(env, "WORLD_SIZE", 1, kMaxWorld));
    ASSIGN_OR_RETURN(o.rank, parse_int(env, "RANK", 0, o.world_size - 1));
    if (o.world_size > 1) {
      if (!has("MASTER_ADDR") || !has("MASTER_PORT"))
        return InvalidArgument("MASTER_ADDR and MASTER_PORT: required when WORLD_SIZE=" +
                               std::to_string(o.world_size));
      o.master_addr = env.at("MASTER_ADDR");
      ASSIGN_OR_RETURN(o.master_port, parse_int(env, "MASTER_PORT", 1, 65535));
    }
  }
  return o;
}

Result<std::vector<std::string>> exchange_peers_via_master(const RendezvousOptions& options,
                                                           const std::string& my_address) {
  const auto deadline = net::Clock::now() + options.timeout;
  const size_t kMaxFrame = 1 << 20;
  std::optional<protocol::JobCredentials> credentials;
  if (!options.token.empty()) {
    ASSIGN_OR_RETURN(credentials, protocol::JobCredentials::FromToken(options.token));
  }
  if (options.rank != 0) {
    ASSIGN_OR_RETURN(auto s,
                     net::connect_until(options.master_addr, options.master_port, deadline));
    if (credentials) {
      RETURN_IF_ERROR(protocol::authenticate_to_server(s.fd(), *credentials, "rendezvous", deadline)
                          .annotate("rendezvous with " + options.master_addr + ":" +
                                    std::to_string(options.master_port)));
    }
    protocol::RendezvousJoin join;
    join.rank = options.rank;
    join.world_size = options.world_size;
    join.address = my_address;
    auto buf = protocol::encode(join);
    RETURN_IF_ERROR(net::write_frame(s, buf, deadline));
    ASSIGN_OR_RETURN(auto frame, net::read_frame(s, kMaxFrame, deadline));
    ASSIGN_OR_RETURN(auto reply,
                     protocol::decode_training<protocol::RendezvousPeers>(
                         std::string_view(frame.data(), frame.size()), "rendezvous reply"));
    if (!reply.error.empty()) return FailedPrecondition("rendezvous: " + reply.error);
    if (static_cast<int>(reply.peers.size()) != options.world_size)
      return DataLoss("rendezvous: master sent " + std::to_string(reply.peers.size()) + " peers");
    return reply.peers;
  }
  ASSIGN_OR_RETURN(auto listener, net::listen_on(options.master_port));
  std::optional<protocol::AuthenticatedAcceptor> acceptor;
  if (credentials)
    acceptor.emplace(listener.fd(), *credentials, protocol::AcceptorOptions{"rendezvous"});
  std::vector<std::string> peers(options.world_size);
  std::vector<net::Socket> joined;
  peers[0] = my_address;
  std::string error;
  for (int got = 1; got < options.world_size;) {
    auto s =
        acceptor ? net::adopt(acceptor->accept(deadline)) : net::accept_until(listener, deadline);
    if (!s.ok())
      return s.status().annotate("rendezvous on port " + std::to_string(options.master_port) +
                                 ": " + std::to_string(got) + " of " +
                                 std::to_string(options.world_size) + " ranks joined");
    auto frame = net::read_frame(*s, kMaxFrame, deadline);
    if (!frame.ok()) continue;  // a stray connection is not a rank; keep waiting
    auto join = protocol::decode_training<protocol::RendezvousJoin>(
        std::string_view(frame->data(), frame->size()), "rendezvous join");
    if (!join.ok()) continue;
    if (join->world_size != options.world_size || join->rank <= 0 ||
        join->rank >= options.world_size || !peers[join->rank].empty()) {
      error = "rank " + std::to_string(join->rank) +
              " joined with WORLD_SIZE=" + std::to_string(join->world_size) + " (master has " +
              std::to_string(options.world_size) + ", or the rank joined twice)";
    } else {
      peers[join->rank] = join->address;
    }
    joined.push_back(std::move(s).value());
    ++got;
  }
  protocol::RendezvousPeers reply;
  reply.peers = peers;
  reply.error = error;
  auto buf = protocol::encode(reply);
  for (auto& s : joined) RETURN_IF_ERROR(net::write_frame(s, buf, deadline));
  if (!error.empty()) return FailedPrecondition("rendezvous: " + error);
  return peers;
}

}  // namespace cadre::training

#include "agent/rsh/rsh_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "protocol/exec_messages.h"

namespace cadre::agent::rsh {
namespace {

// A client that stops reading for this long is treated as gone: its session's
// writes fail, and the command is ended as on a hang-up.
constexpr int kSendTimeoutSeconds = 60;

void tune_connection(const Fd& connection) {
  const int on = 1;
  ::setsockopt(connection.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  timeval timeout{kSendTimeoutSeconds, 0};
  ::setsockopt(connection.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

}  // namespace

Result<std::unique_ptr<RshServer>> RshServer::Create(const RshServerOptions& options) {
  if (options.session.token.empty()) return InvalidArgument("empty job token");
  if (options.max_sessions < 1) {
    return InvalidArgument("max_sessions " + std::to_string(options.max_sessions));
  }
  ASSIGN_OR_RETURN(auto credentials, protocol::JobCredentials::FromToken(options.session.token));
  ASSIGN_OR_RETURN(Fd listener, listen_tcp(options.bind_address, options.port));
  ASSIGN_OR_RETURN(const int port, bound_port(listener));
  return std::unique_ptr<RshServer>(
      new RshServer(options, std::move(listener), port, std::move(credentials)));
}

RshServer::~RshServer() { stop_all(); }

Status RshServer::run(const std::function<bool()>& should_stop) {
  spdlog::info("{} cadre-rsh serving on {}:{}", options_.session.entity, options_.bind_address,
               port_);
  uint64_t refused_logged = 0;
  while (!should_stop()) {
    auto connection =
        acceptor_.accept(std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
    if (connection.ok()) start_session(Fd(*connection));
    // Sampled: a flood of strangers must not flood the log.
    if (acceptor_.refused() > refused_logged &&
        (refused_logged < 10 || acceptor_.refused() - refused_logged >= 1000)) {
      spdlog::warn("{} refused {} connection(s) that did not prove the job token ({} in all)",
                   options_.session.entity, acceptor_.refused() - refused_logged,
                   acceptor_.refused());
      refused_logged = acceptor_.refused();
    }
    join_finished();
  }
  spdlog::info("{} cadre-rsh stopping; ending {} session(s)", options_.session.entity,
               sessions_.size());
  stop_all();
  return Status::Ok();
}

void RshServer::start_session(Fd connection) {
  tune_connection(connection);
  const uint64_t id = next_id_++;
  if (sessions_.size() >= static_cast<size_t>(options_.max_sessions)) {
    spdlog::warn("{} session={} peer={} refused: {} sessions already running",
                 options_.session.entity, id, peer_address(connection), sessions_.size());
    protocol::ExecEvent event;
    event.kind = protocol::ExecEventKind::kError;
    event.error = "too many sessions (" + std::to_string(options_.max_sessions) + ")";
    (void)send_message(connection, event);
    return;
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, id, done, connection = std::move(connection)]() mutable {
    run_exec_session(std::move(connection), id, options_.session, stop_);
    done->store(true);
  });
  sessions_.push_back({std::move(thread), std::move(done)});
}

void RshServer::join_finished() {
  auto finished = std::stable_partition(sessions_.begin(), sessions_.end(),
                                        [](const Session& s) { return !s.done->load(); });
  for (auto it = finished; it != sessions_.end(); ++it) it->thread.join();
  sessions_.erase(finished, sessions_.end());
}

void RshServer::stop_all() {
  stop_.store(true);
  for (auto& session : sessions_) session.thread.join();
  sessions_.clear();
}

}  // namespace cadre::agent::rsh

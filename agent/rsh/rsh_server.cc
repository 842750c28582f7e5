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
  ASSIGN_OR_RETURN(Fd listener, listen_tcp(options.bind_address, options.port));
  ASSIGN_OR_RETURN(const int port, bound_port(listener));
  return std::unique_ptr<RshServer>(new RshServer(options, std::move(listener), port));
}

RshServer::~RshServer() { stop_all(); }

Status RshServer::run(const std::function<bool()>& should_stop) {
  spdlog::info("{} cadre-rsh serving on {}:{}", options_.session.entity, options_.bind_address,
               port_);
  while (!should_stop()) {
    pollfd pfd{listener_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 200);
    if (ready < 0 && errno != EINTR) return Internal(std::string("poll: ") + std::strerror(errno));
    if (ready > 0) accept_one();
    join_finished();
  }
  spdlog::info("{} cadre-rsh stopping; ending {} session(s)", options_.session.entity,
               sessions_.size());
  stop_all();
  return Status::Ok();
}

void RshServer::accept_one() {
  Fd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!connection.valid()) {
    // ECONNABORTED, EMFILE, ...: this connection is lost, the server is not.
    spdlog::warn("{} accept: {}", options_.session.entity, std::strerror(errno));
    return;
  }
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

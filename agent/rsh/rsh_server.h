// `cadre-rsh serve`: accepts connections on the Worker replica's port and runs one
// ExecSession per connection on its own thread, like sshd in an MPIJob Worker.
//
// A connection becomes a session only once it has proven the job's token
// (protocol/peer_auth.h, label "rsh"); until then it waits in the acceptor's bounded
// set with a short deadline, so idle connections from anyone never take a session
// slot, and the token itself never crosses the wire.
//
// Threads: run() owns the listener, the acceptor and the session list; each session
// thread owns its connection and command. They share only `stop_`, set by run() on
// shutdown.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/rsh/exec_session.h"
#include "agent/rsh/socket_io.h"
#include "protocol/peer_auth.h"
#include "protocol/status.h"

namespace cadre::agent::rsh {

struct RshServerOptions {
  std::string bind_address = "0.0.0.0";  // IPv4 address to listen on
  int port = 0;                          // 0: an ephemeral port (tests), see port()
  int max_sessions = 64;                 // concurrent sessions; more are refused
  // Connections still proving the token: how many are held, and for how long each.
  size_t max_pending = 256;
  std::chrono::milliseconds handshake_timeout{5000};
  ExecSessionOptions session;
};

class RshServer {
 public:
  // Binds the listener. InvalidArgument for an empty token or a bad address,
  // Unavailable when the port is taken.
  static Result<std::unique_ptr<RshServer>> Create(const RshServerOptions& options);
  ~RshServer();
  RshServer(const RshServer&) = delete;
  RshServer& operator=(const RshServer&) = delete;

  int port() const { return port_; }

  // Serves until should_stop() returns true (checked every 200 ms), then ends
  // every session's command (SIGTERM, SIGKILL after the grace) and joins them.
  Status run(const std::function<bool()>& should_stop);

 private:
  struct Session {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  RshServer(const RshServerOptions& options, Fd listener, int port,
            protocol::JobCredentials credentials)
      : options_(options),
        listener_(std::move(listener)),
        port_(port),
        credentials_(std::move(credentials)),
        acceptor_(
            listener_.get(), credentials_,
            protocol::AcceptorOptions{"rsh", options.handshake_timeout, options.max_pending}) {}

  void start_session(Fd connection);
  void join_finished();
  void stop_all();

  RshServerOptions options_;
  Fd listener_;
  int port_;
  protocol::JobCredentials credentials_;
  protocol::AuthenticatedAcceptor acceptor_;  // run()'s thread only
  std::atomic<bool> stop_{false};
  std::vector<Session> sessions_;  // run()'s thread only
  uint64_t next_id_ = 1;
};

}  // namespace cadre::agent::rsh

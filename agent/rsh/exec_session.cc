#include "agent/rsh/exec_session.h"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/rsh/child_process.h"
#include "protocol/exec_messages.h"

namespace cadre::agent::rsh {
namespace {

using protocol::ExecEvent;
using protocol::ExecEventKind;
using protocol::ExecRequest;

// The command for a log line: words joined, long ones cut (orted's is ~1 KiB).
std::string shorten(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text.size() <= 240 ? text : text.substr(0, 240) + "...";
}

void send_error(const Fd& connection, const std::string& error) {
  ExecEvent event;
  event.kind = ExecEventKind::kError;
  event.error = error;
  // Best effort: the connection closes right after either way.
  (void)send_message(connection, event);
}

// Relays a running command's output to the client until the command has ended,
// and turns a hang-up or a server shutdown into killing its process group.
class Relay {
 public:
  Relay(const Fd& connection, ChildProcess& child, const ExecSessionOptions& options,
        const std::atomic<bool>& stop, const std::string& who)
      : connection_(connection), child_(child), options_(options), stop_(stop), who_(who) {}

  ChildExit run() {
    std::optional<ChildExit> exit;
    Clock::time_point drain_deadline;
    while (true) {
      const Clock::time_point now = Clock::now();
      if (!exit && (exit = peek_exit(child_.pid))) {
        // The main process ended: what it left in its group dies with it, as a
        // container's processes do. Killed before reaping, so the group id is
        // still ours and cannot name an unrelated process.
        signal_group(child_.pid, SIGKILL);
        reap_child(child_.pid);
        drain_deadline = now + options_.drain_limit;
      }
      const bool pipes_open = child_.out.valid() || child_.err.valid();
      if (exit && (!pipes_open || now >= drain_deadline)) return *exit;
      if (!exit) escalate(now);
      wait_and_pump();
    }
  }

  bool hung_up() const { return hung_up_; }

 private:
  // Hang-up or shutdown: SIGTERM to the group, SIGKILL once the grace is over.
  void escalate(Clock::time_point now) {
    if (!hung_up_ && !stop_.load()) return;
    if (!term_sent_) {
      spdlog::info("{} {}: terminating process group {}", who_,
                   hung_up_ ? "client hung up" : "server stopping", child_.pid);
      signal_group(child_.pid, SIGTERM);
      term_sent_ = true;
      term_sent_at_ = now;
    } else if (!kill_sent_ && now - term_sent_at_ >= options_.kill_grace) {
      spdlog::warn("{} process group {} outlived its grace; SIGKILL", who_, child_.pid);
      signal_group(child_.pid, SIGKILL);
      kill_sent_ = true;
    }
  }

  // One poll round (at most 100 ms, so exits and escalation are noticed promptly).
  void wait_and_pump() {
    std::vector<pollfd> fds;
    if (!hung_up_) fds.push_back({connection_.get(), POLLIN, 0});
    if (child_.out.valid()) fds.push_back({child_.out.get(), POLLIN, 0});
    if (child_.err.valid()) fds.push_back({child_.err.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 100) <= 0) return;
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == connection_.get()) {
        check_connection();
      } else if (p.fd == child_.out.get()) {
        pump(child_.out, ExecEventKind::kStdout);
      } else if (p.fd == child_.err.get()) {
        pump(child_.err, ExecEventKind::kStderr);
      }
    }
  }

  // The client sends nothing after its request (no stdin), so readable means EOF
  // or an error: it hung up. Stray bytes are discarded.
  void check_connection() {
    auto bytes = read_some(connection_.get(), 4096);
    if (!bytes.ok() || bytes->empty()) hung_up_ = true;
  }

  void pump(Fd& pipe, ExecEventKind kind) {
    auto bytes = read_some(pipe.get(), protocol::kExecOutputChunkBytes);
    if (!bytes.ok() || bytes->empty()) {
      pipe.reset();
      return;
    }
    if (hung_up_) return;  // keep draining so the command never blocks on a full pipe
    ExecEvent event;
    event.kind = kind;
    event.data = std::move(*bytes);
    if (const Status sent = send_message(connection_, event); !sent.ok()) {
      spdlog::info("{} sending output failed ({}); treating it as a hang-up", who_, sent.message());
      hung_up_ = true;
    }
  }

  const Fd& connection_;
  ChildProcess& child_;
  const ExecSessionOptions& options_;
  const std::atomic<bool>& stop_;
  const std::string& who_;
  bool hung_up_ = false;
  bool term_sent_ = false;
  Clock::time_point term_sent_at_;
  bool kill_sent_ = false;
};

// The request, read in short slices so a server shutdown is not held up by a
// connection that has not sent it yet.
Result<ExecRequest> read_request(const Fd& connection, const ExecSessionOptions& options,
                                 const std::atomic<bool>& stop) {
  protocol::FrameDecoder decoder(protocol::kMaxExecFrameBytes);
  const Clock::time_point deadline = Clock::now() + options.auth_timeout;
  while (true) {
    const Clock::time_point slice =
        std::min(deadline, Clock::now() + std::chrono::milliseconds(200));
    auto payload = recv_frame(connection, decoder, slice);
    if (payload.ok()) return protocol::decode_exec<ExecRequest>(*payload, "ExecRequest");
    const bool timed_out = payload.status().code() == StatusCode::kDeadlineExceeded;
    if (!timed_out) return payload.status();
    if (stop.load()) return Unavailable("server stopping");
    if (Clock::now() >= deadline) {
      return DeadlineExceeded("no request within " + std::to_string(options.auth_timeout.count()) +
                              " ms");
    }
  }
}

}  // namespace

void run_exec_session(Fd connection, uint64_t id, const ExecSessionOptions& options,
                      const std::atomic<bool>& stop) {
  const std::string who =
      options.entity + " session=" + std::to_string(id) + " peer=" + peer_address(connection);
  auto request = read_request(connection, options, stop);
  if (!request.ok()) {
    spdlog::warn("{} refused: no valid request: {}", who, request.status().message());
    send_error(connection, "bad request: " + request.status().message());
    return;
  }
  if (request->argv.empty()) {
    spdlog::warn("{} refused: empty argv", who);
    send_error(connection, "bad request: empty argv");
    return;
  }
  std::map<std::string, std::string> env = options.command_env;
  for (const auto& [name, value] : request->env) env[name] = value;
  auto child = spawn_child(request->argv, env);
  if (!child.ok()) {
    spdlog::warn("{} could not start {}: {}", who, shorten(request->argv),
                 child.status().message());
    send_error(connection, child.status().message());
    return;
  }
  const Clock::time_point started = Clock::now();
  spdlog::info("{} pid={} running: {}", who, child->pid, shorten(request->argv));

  Relay relay(connection, *child, options, stop, who);
  const ChildExit exit = relay.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  spdlog::info("{} pid={} exited code={} signal={} after {:.1f}s{}", who, child->pid,
               exit.exit_code, exit.signal, seconds, relay.hung_up() ? " (client hung up)" : "");
  if (relay.hung_up()) return;
  ExecEvent event;
  event.kind = ExecEventKind::kExit;
  event.exit_code = exit.exit_code;
  event.signal = exit.signal;
  if (const Status sent = send_message(connection, event); !sent.ok()) {
    spdlog::info("{} could not report the exit: {}", who, sent.message());
  }
}

}  // namespace cadre::agent::rsh

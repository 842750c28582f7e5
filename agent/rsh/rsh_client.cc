#include "agent/rsh/rsh_client.h"

#include <algorithm>
#include <chrono>

#include "agent/rsh/socket_io.h"
#include "protocol/exec_messages.h"
#include "protocol/peer_auth.h"

namespace cadre::agent::rsh {

using protocol::ExecEvent;
using protocol::ExecEventKind;

Result<int> run_remote(const ClientConfig& config, const ClientStreams& streams) {
  const auto connect_deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(config.connect_timeout_s));
  ASSIGN_OR_RETURN(auto credentials, protocol::JobCredentials::FromToken(config.token));
  ASSIGN_OR_RETURN(Fd connection,
                   connect_tcp(config.endpoint.host, config.endpoint.port, connect_deadline));
  // Both ends prove the token before the request; the token never travels.
  const Status proven =
      protocol::authenticate_to_server(connection.get(), credentials, "rsh", connect_deadline);
  if (proven.code() == StatusCode::kPermissionDenied || proven.code() == StatusCode::kUnavailable) {
    return PermissionDenied("refused: authentication failed: " + proven.message() +
                            " (a wrong job token, CADRE_JOB_TOKEN, or not a cadre-rsh server)");
  }
  RETURN_IF_ERROR(proven);
  protocol::ExecRequest request;
  // As sshd runs a command: the user's words, joined, for the shell to parse.
  request.argv = {"/bin/sh", "-c", config.command};
  for (const auto& [name, value] : config.env) request.env[name] = value;
  RETURN_IF_ERROR(send_message(connection, request).annotate("sending the request"));

  // No deadline once running: orted lives as long as the MPI job.
  protocol::FrameDecoder decoder(protocol::kMaxExecFrameBytes);
  while (true) {
    auto payload = recv_frame(connection, decoder, Clock::time_point::max());
    if (!payload.ok()) {
      return Unavailable("connection lost before the command exited: " +
                         payload.status().message());
    }
    ASSIGN_OR_RETURN(ExecEvent event, protocol::decode_exec<ExecEvent>(*payload, "ExecEvent"));
    switch (event.kind) {
      case ExecEventKind::kStdout:
        (void)write_all(streams.out_fd, event.data);  // a closed stdout must not end the command
        break;
      case ExecEventKind::kStderr:
        (void)write_all(streams.err_fd, event.data);
        break;
      case ExecEventKind::kExit:
        return std::clamp(event.exit_code, 0, 255);
      case ExecEventKind::kError:
        if (event.error.rfind("authentication failed", 0) == 0) {
          return PermissionDenied("refused: " + event.error);
        }
        return FailedPrecondition("refused: " + event.error);
      default:
        return InvalidArgument("unknown ExecEvent kind " +
                               std::to_string(static_cast<int>(event.kind)));
    }
  }
}

}  // namespace cadre::agent::rsh

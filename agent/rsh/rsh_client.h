// `cadre-rsh HOST COMMAND...`, the side mpirun runs: sends the command to HOST's
// `cadre-rsh serve` and relays its stdout and stderr to ours.
//
// Like ssh, the command is one string for the remote /bin/sh -c (OpenMPI quotes its
// orted arguments for a shell). Unlike ssh, stdin is not forwarded: the remote
// command reads /dev/null, which is all orted needs. Being killed closes the
// connection, and the server then kills the remote command's process group.
#pragma once

#include "agent/rsh/rsh_config.h"
#include "protocol/status.h"

namespace cadre::agent::rsh {

struct ClientStreams {
  int out_fd = 1;  // where remote stdout goes
  int err_fd = 2;  // where remote stderr goes
};

// The remote command's exit code (128 + signal if a signal ended it), or why it
// could not be run: unreachable (Unavailable), refused by the server
// (PermissionDenied for a wrong token, FailedPrecondition otherwise), or a broken
// stream. The caller reports the error naming the host and exits 255, as ssh does.
Result<int> run_remote(const ClientConfig& config, const ClientStreams& streams = {});

}  // namespace cadre::agent::rsh

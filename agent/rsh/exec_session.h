// One cadre-rsh connection on the server, from the request to the exit status:
// start the command, relay its output, report how it ended. The connection has
// already proven the job's token (RshServer's acceptor). Runs on
// a thread of its own (RshServer starts one per connection); everything here is
// owned by that thread except `stop`, the server's shutdown flag, read-only here.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "agent/rsh/socket_io.h"

namespace cadre::agent::rsh {

struct ExecSessionOptions {
  std::string token;   // the job's secret (CADRE_JOB_TOKEN) the acceptor checks
  std::string entity;  // "job=... replica=..." for log lines
  // Set for every command on top of the server's environment; a request's own
  // env still wins.
  std::map<std::string, std::string> command_env;
  // A connection that sends no complete request by then is dropped, so idle
  // connections cannot pin session slots.
  std::chrono::milliseconds auth_timeout{10000};
  // SIGTERM first so orted can clean up its session directory; SIGKILL after this.
  std::chrono::milliseconds kill_grace{2000};
  // After the main process ended, output still buffered in the pipes is relayed
  // for at most this long (a process that escaped the group may hold them open).
  std::chrono::milliseconds drain_limit{1000};
};

// Serves `connection` to the end and closes it. `id` numbers the session in logs.
void run_exec_session(Fd connection, uint64_t id, const ExecSessionOptions& options,
                      const std::atomic<bool>& stop);

}  // namespace cadre::agent::rsh

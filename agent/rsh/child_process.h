// A command cadre-rsh serve runs for one session: a child leading its own process
// group, stdin on /dev/null, stdout and stderr on pipes the session relays.
//
// The own group lets a hang-up reach everything the command started (orted and the
// MPI ranks it forks); PR_SET_PDEATHSIG ties the child to the session thread that
// forked it, so a serve process killed with SIGKILL leaves no orphans running ranks.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/rsh/socket_io.h"
#include "protocol/status.h"

namespace cadre::agent::rsh {

// How the command ended.
struct ChildExit {
  int exit_code = 0;  // exit status, or 128 + signal
  int signal = 0;     // the signal that ended it; 0 for a normal exit
};

struct ChildProcess {
  pid_t pid = 0;  // also the process group id
  Fd out;         // read end of its stdout
  Fd err;         // read end of its stderr
};

// Forks and execs argv (PATH searched) with the caller's environment plus
// `extra_env`. Returns once exec succeeded; FailedPrecondition naming the failing
// call and errno otherwise ("execvp(orted): No such file or directory"), the child
// already reaped. Safe to call from several threads at once.
Result<ChildProcess> spawn_child(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& extra_env);

// Non-blocking: the exit once the main process has ended, leaving it unreaped (a
// zombie still holds its pid, so the group id cannot be reused before reap_child).
std::optional<ChildExit> peek_exit(pid_t pid);

// Reaps the ended main process.
void reap_child(pid_t pid);

// Sends `signal` to the whole group; no error if it has already gone.
void signal_group(pid_t pgid, int signal);

}  // namespace cadre::agent::rsh

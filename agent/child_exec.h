// Starting a program from a multi-threaded process: what the child does between
// fork() and exec, and how the parent learns whether it got there. Shared by the
// agent's ProcessLauncher and cadre-rsh serve, which both fork while other threads
// run (ZeroMQ I/O threads, rsh session threads).
//
// After such a fork the child may only make async-signal-safe calls until exec:
// another thread may have held the allocator's or a logger's lock at the moment of
// the fork, and that lock stays held forever in the child. So everything the child
// needs is prepared before fork (ExecArrays, ChildExec), and a failure travels back
// as a fixed-size record through a close-on-exec pipe: the parent reading EOF means
// exec succeeded.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace cadre::agent {

// Which step of the child's set-up failed; sent to the parent with errno.
enum class ChildStage : int {
  kSetpgid = 1,
  kStdio,
  kChdir,
  kExec,
  kCgroup,
  kRlimit,
  kSetuid,
  kNoNewPrivs
};

// One resource limit (soft and hard) the child sets on itself.
struct ChildRlimit {
  int resource = 0;  // RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE, ...
  rlim_t value = 0;
};

// argv and envp as execvp wants them, built before fork so the child allocates
// nothing. argv points into the caller's strings, which must outlive this; the
// environment entries are owned here.
class ExecArrays {
 public:
  // `env`: the child's whole environment, "NAME=value" entries.
  ExecArrays(const std::vector<std::string>& argv, std::vector<std::string> env);
  ExecArrays(const ExecArrays&) = delete;
  ExecArrays& operator=(const ExecArrays&) = delete;

  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  std::vector<std::string> env_;
  std::vector<char*> argv_;  // null-terminated
  std::vector<char*> envp_;  // null-terminated, into env_
};

// Everything the child does, prepared in the parent. Plain pointers and fds only:
// the child reads it without allocating.
struct ChildExec {
  // getpid() of the parent before fork: a child whose parent died before
  // PR_SET_PDEATHSIG took effect sees another parent and exits.
  pid_t parent_pid = 0;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Write end of an O_CLOEXEC pipe; receives a failure record, closes on exec.
  int status_fd = -1;
  // Where the program starts; nullptr stays in the parent's folder.
  const char* working_dir = nullptr;
  // From ExecArrays. argv[0] is searched in envp's PATH.
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  // Files the child joins its cgroups through by writing "0" (v2: cgroup.procs,
  // v1: tasks; agent/replica_cgroups.h).
  const int* cgroup_fds = nullptr;
  int cgroup_fd_count = 0;
  const ChildRlimit* rlimits = nullptr;
  int rlimit_count = 0;
  // When set: supplementary groups dropped, then setgid(gid), setuid(uid). A root
  // agent's replica loses every capability with it.
  bool change_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  // PR_SET_NO_NEW_PRIVS: no setuid binary or file capability can raise the program.
  bool no_new_privs = false;
};

// Runs in the child after fork; async-signal-safe. Ties the child's life to the
// forking thread (PR_SET_PDEATHSIG, SIGKILL), makes it lead its own process group,
// joins its cgroups, sets its rlimits, restores the default signal mask and
// dispositions, puts the three fds on stdio, marks every other fd close-on-exec,
// drops to its user, sets no_new_privs, changes folder (as that user) and execs. On
// a failure it writes the stage and errno to status_fd and exits 127.
[[noreturn]] void exec_child(const ChildExec& exec);

// Forks a child that runs exec_child(exec). The parent also puts the child in its
// own group: whichever runs first, a signal sent to the group right after this
// returns reaches the child. Internal when fork fails.
Result<pid_t> fork_child(const ChildExec& exec);

// Parent side, once its copy of status_fd is closed: blocks until the child has
// exec'd (Ok) or reported a failure: FailedPrecondition naming the failing call and
// errno, e.g. "execvp(foo): No such file or directory". `stdio_name`, when given,
// names what stdio was redirected to ("dup2(replica.log): ..."). Does not reap.
Status await_exec(int status_read_fd, const ChildExec& exec, std::string_view stdio_name = {});

}  // namespace cadre::agent

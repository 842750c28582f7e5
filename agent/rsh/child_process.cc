#include "agent/rsh/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/child_exec.h"
#include "protocol/environment.h"

namespace cadre::agent::rsh {
namespace {

// The serve replica's own identity in the environment contract. Commands run for
// mpirun are MPI ranks whose identity comes from MPI; inheriting the Worker's
// rank and world (which counts the Launcher) would contradict it.
bool replica_identity(std::string_view name) {
  static const char* const kNames[] = {
      "CADRE_RANK", "CADRE_WORLD_SIZE", "CADRE_PEERS", "CADRE_REPLICA_TYPE", "CADRE_REPLICA_INDEX",
      "RANK",       "WORLD_SIZE",       "LOCAL_RANK",  "MASTER_ADDR",        "MASTER_PORT",
      "TF_CONFIG"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return false;
}

// The command's environment: the server's own, less the serve replica's identity,
// with `extra_env` on top.
std::vector<std::string> command_environment(const std::map<std::string, std::string>& extra_env) {
  std::vector<std::string> env;
  for (const auto& [name, value] : environment_map()) {
    if (extra_env.count(name) == 0 && !replica_identity(name)) env.push_back(name + "=" + value);
  }
  for (const auto& [name, value] : extra_env) env.push_back(name + "=" + value);
  return env;
}

Result<std::pair<Fd, Fd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Internal(std::string("pipe2: ") + std::strerror(errno));
  return std::make_pair(Fd(fds[0]), Fd(fds[1]));
}

}  // namespace

Result<ChildProcess> spawn_child(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& extra_env) {
  if (argv.empty()) return InvalidArgument("empty argv");
  Fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_fd.valid()) return Internal(std::string("open(/dev/null): ") + std::strerror(errno));
  ASSIGN_OR_RETURN(auto out, make_pipe());
  ASSIGN_OR_RETURN(auto err, make_pipe());
  ASSIGN_OR_RETURN(auto status, make_pipe());

  // Prepared before fork: the server is multi-threaded, so the child may only make
  // async-signal-safe calls until exec (agent/child_exec.h).
  const ExecArrays arrays(argv, command_environment(extra_env));
  ChildExec exec;
  exec.parent_pid = ::getpid();
  exec.stdin_fd = null_fd.get();
  exec.stdout_fd = out.second.get();
  exec.stderr_fd = err.second.get();
  exec.status_fd = status.second.get();
  exec.argv = arrays.argv();
  exec.envp = arrays.envp();
  ASSIGN_OR_RETURN(const pid_t pid, fork_child(exec));
  out.second.reset();
  err.second.reset();
  status.second.reset();

  if (Status started = await_exec(status.first.get(), exec); !started.ok()) {
    ::waitpid(pid, nullptr, 0);
    return started;
  }
  ChildProcess child;
  child.pid = pid;
  child.out = std::move(out.first);
  child.err = std::move(err.first);
  return child;
}

std::optional<ChildExit> peek_exit(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid) {
    return std::nullopt;
  }
  ChildExit exit;
  if (info.si_code == CLD_EXITED) {
    exit.exit_code = info.si_status;
  } else {
    exit.signal = info.si_status;
    exit.exit_code = 128 + info.si_status;
  }
  return exit;
}

void reap_child(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void signal_group(pid_t pgid, int signal) {
  if (pgid > 0) ::kill(-pgid, signal);
}

}  // namespace cadre::agent::rsh

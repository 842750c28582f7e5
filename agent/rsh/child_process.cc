#include "agent/rsh/child_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace cadre::agent::rsh {
namespace {

// Which step of the child's set-up failed; sent to the parent with errno.
enum class ChildStage : int { kSetpgid = 1, kStdio, kExec };

struct ChildFailure {
  ChildStage stage;
  int error;
};

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

// argv/envp built before fork: the server is multi-threaded, so the child may only
// make async-signal-safe calls until exec and must not allocate.
struct ExecArrays {
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;

  ExecArrays(const std::vector<std::string>& args,
             const std::map<std::string, std::string>& extra_env) {
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      const std::string_view name = text.substr(0, text.find('='));
      if (extra_env.count(std::string(name)) == 0 && !replica_identity(name)) {
        env_storage.emplace_back(text);
      }
    }
    for (const auto& [name, value] : extra_env) env_storage.push_back(name + "=" + value);
    for (auto& entry : env_storage) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }
};

[[noreturn]] void fail_child(int pipe_fd, ChildStage stage) {
  const ChildFailure failure{stage, errno};
  ssize_t ignored = ::write(pipe_fd, &failure, sizeof(failure));
  (void)ignored;
  ::_exit(127);
}

// Runs in the child between fork and exec. Async-signal-safe calls only.
[[noreturn]] void exec_child(ExecArrays& arrays, int null_fd, int out_fd, int err_fd, int pipe_fd,
                             pid_t server_pid) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != server_pid) ::_exit(127);  // the server died before prctl took effect
  if (::setpgid(0, 0) != 0) fail_child(pipe_fd, ChildStage::kSetpgid);
  // The server handles SIGTERM and ignores SIGPIPE; a command starts from the defaults.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
  if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
      ::dup2(err_fd, STDERR_FILENO) < 0) {
    fail_child(pipe_fd, ChildStage::kStdio);
  }
  // Other sessions' pipes and sockets, opened by other threads, must not leak in.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    const long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  environ = arrays.envp.data();  // so execvp searches the command's PATH
  ::execvp(arrays.argv[0], arrays.argv.data());
  fail_child(pipe_fd, ChildStage::kExec);
}

std::string describe(const std::vector<std::string>& argv, const ChildFailure& failure) {
  const std::string error = std::strerror(failure.error);
  switch (failure.stage) {
    case ChildStage::kSetpgid:
      return "setpgid: " + error;
    case ChildStage::kStdio:
      return "dup2: " + error;
    case ChildStage::kExec:
      return "execvp(" + argv.front() + "): " + error;
  }
  return "spawn: " + error;
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

  ExecArrays arrays(argv, extra_env);
  const pid_t server_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    exec_child(arrays, null_fd.get(), out.second.get(), err.second.get(), status.second.get(),
               server_pid);
  }
  // Also from the parent: a hang-up right after spawn_child returns reaches the group.
  ::setpgid(pid, pid);
  out.second.reset();
  err.second.reset();
  status.second.reset();

  // EOF means exec succeeded (the pipe closed on exec); a record means it failed.
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(status.first.get(), &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(failure))) {
    ::waitpid(pid, nullptr, 0);
    return FailedPrecondition(describe(argv, failure));
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

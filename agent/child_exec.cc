#include "agent/child_exec.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace cadre::agent {
namespace {

// The record the child writes to the status pipe when a step fails.
struct ChildFailure {
  ChildStage stage;
  int error;
};

[[noreturn]] void fail_child(int status_fd, ChildStage stage) {
  const ChildFailure failure{stage, errno};
  ssize_t ignored = ::write(status_fd, &failure, sizeof(failure));
  (void)ignored;
  ::_exit(127);
}

std::string describe(const ChildFailure& failure, const ChildExec& exec,
                     std::string_view stdio_name) {
  const std::string error = std::strerror(failure.error);
  switch (failure.stage) {
    case ChildStage::kSetpgid:
      return "setpgid: " + error;
    case ChildStage::kStdio:
      if (stdio_name.empty()) return "dup2: " + error;
      return "dup2(" + std::string(stdio_name) + "): " + error;
    case ChildStage::kChdir:
      return "chdir(" + std::string(exec.working_dir) + "): " + error;
    case ChildStage::kExec:
      if (failure.error == EACCES && exec.change_user) {
        return "execvp(" + std::string(exec.argv[0]) + "): " + error + " (as uid " +
               std::to_string(exec.uid) +
               ": not found, or the program or a folder on its PATH is not accessible to the "
               "replica's user)";
      }
      return "execvp(" + std::string(exec.argv[0]) + "): " + error;
    case ChildStage::kCgroup:
      return "joining the replica's cgroup: " + error;
    case ChildStage::kRlimit:
      return "setrlimit: " + error;
    case ChildStage::kSetuid:
      return "switching to uid " + std::to_string(exec.uid) + ": " + error;
    case ChildStage::kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS): " + error;
  }
  return "exec: " + error;
}

}  // namespace

ExecArrays::ExecArrays(const std::vector<std::string>& argv, std::vector<std::string> env)
    : env_(std::move(env)) {
  argv_.reserve(argv.size() + 1);
  for (const auto& arg : argv) argv_.push_back(const_cast<char*>(arg.c_str()));
  argv_.push_back(nullptr);
  envp_.reserve(env_.size() + 1);
  for (auto& entry : env_) envp_.push_back(entry.data());
  envp_.push_back(nullptr);
}

[[noreturn]] void exec_child(const ChildExec& exec) {
  // The child dies with the parent (see process_launcher.h and rsh/child_process.h
  // for why each of them needs that).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != exec.parent_pid) ::_exit(127);  // the parent died before prctl took effect

  if (::setpgid(0, 0) != 0) fail_child(exec.status_fd, ChildStage::kSetpgid);

  // Into the cgroups before anything of the program runs, so every process it
  // starts is limited and killable with it.
  for (int i = 0; i < exec.cgroup_fd_count; ++i) {
    if (::write(exec.cgroup_fds[i], "0", 1) != 1) fail_child(exec.status_fd, ChildStage::kCgroup);
  }
  for (int i = 0; i < exec.rlimit_count; ++i) {
    const struct rlimit limit { exec.rlimits[i].value, exec.rlimits[i].value };
    if (::setrlimit(exec.rlimits[i].resource, &limit) != 0) {
      fail_child(exec.status_fd, ChildStage::kRlimit);
    }
  }

  // The parent blocks or handles some signals and ignores SIGPIPE; a program starts
  // from the defaults.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);

  if (::dup2(exec.stdin_fd, STDIN_FILENO) < 0 || ::dup2(exec.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(exec.stderr_fd, STDERR_FILENO) < 0) {
    fail_child(exec.status_fd, ChildStage::kStdio);
  }
  // The parent's sockets and files, and those other threads opened, must not leak
  // into the program; the status pipe is already close-on-exec, so marking (not
  // closing) keeps it usable until exec.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    const long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (exec.change_user) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(exec.gid) != 0 || ::setuid(exec.uid) != 0) {
      fail_child(exec.status_fd, ChildStage::kSetuid);
    }
    // Changing credentials clears the parent-death signal; set it again.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != exec.parent_pid) ::_exit(127);
  }
  if (exec.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fail_child(exec.status_fd, ChildStage::kNoNewPrivs);
  }
  // After the switch, so the folder is entered with the replica's own rights.
  if (exec.working_dir != nullptr && ::chdir(exec.working_dir) != 0) {
    fail_child(exec.status_fd, ChildStage::kChdir);
  }

  environ = const_cast<char**>(exec.envp);  // so execvp searches the program's PATH
  ::execvp(exec.argv[0], exec.argv);
  fail_child(exec.status_fd, ChildStage::kExec);
}

Result<pid_t> fork_child(const ChildExec& exec) {
  const pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(exec);
  ::setpgid(pid, pid);
  return pid;
}

Status await_exec(int status_read_fd, const ChildExec& exec, std::string_view stdio_name) {
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(status_read_fd, &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof(failure))) return Status::Ok();  // EOF: exec closed it
  return FailedPrecondition(describe(failure, exec, stdio_name));
}

}  // namespace cadre::agent

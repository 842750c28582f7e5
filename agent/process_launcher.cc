#include "agent/process_launcher.h"

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
#include <filesystem>
#include <fstream>

extern char** environ;

namespace cadre::agent {
namespace {

// Which step of the child's set-up failed; sent to the parent with errno.
enum class ChildStage : int { kSetpgid = 1, kStdio, kChdir, kExec };

struct ChildFailure {
  ChildStage stage;
  int error;
};

// The argv/envp arrays, built before fork: after fork in a multi-threaded process
// (ZeroMQ runs I/O threads) the child may only make async-signal-safe calls, so it
// must not allocate.
struct ExecArrays {
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;

  explicit ExecArrays(const LaunchSpec& spec) {
    for (const auto& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    env_storage.reserve(spec.env.size());
    for (const auto& [name, value] : spec.env) env_storage.push_back(name + "=" + value);
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
[[noreturn]] void exec_child(const LaunchSpec& spec, ExecArrays& arrays, int log_fd, int stdin_fd,
                             int pipe_fd, pid_t agent_pid) {
  // Replica dies with the agent (see the header for why).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != agent_pid) ::_exit(127);  // the agent died before prctl took effect

  if (::setpgid(0, 0) != 0) fail_child(pipe_fd, ChildStage::kSetpgid);

  // The agent blocks or handles some signals; a replica starts from the defaults.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);

  if (::dup2(stdin_fd, STDIN_FILENO) < 0 || ::dup2(log_fd, STDOUT_FILENO) < 0 ||
      ::dup2(log_fd, STDERR_FILENO) < 0) {
    fail_child(pipe_fd, ChildStage::kStdio);
  }
  // Sockets and files of the agent must not leak into user programs; the failure
  // pipe is already close-on-exec, so marking (not closing) keeps it usable here.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    const long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (::chdir(spec.working_dir.c_str()) != 0) fail_child(pipe_fd, ChildStage::kChdir);

  environ = arrays.envp.data();  // so execvp searches the replica's PATH
  ::execvp(arrays.argv[0], arrays.argv.data());
  fail_child(pipe_fd, ChildStage::kExec);
}

std::string describe_failure(const LaunchSpec& spec, const ChildFailure& failure) {
  const std::string error = std::strerror(failure.error);
  switch (failure.stage) {
    case ChildStage::kSetpgid:
      return "setpgid: " + error;
    case ChildStage::kStdio:
      return "dup2(" + spec.log_path + "): " + error;
    case ChildStage::kChdir:
      return "chdir(" + spec.working_dir + "): " + error;
    case ChildStage::kExec:
      return "execvp(" + spec.argv.front() + "): " + error;
  }
  return "launch: " + error;
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::unique_ptr<ProcessLauncher>> ProcessLauncher::Create(
    const ProcessLauncherOptions& options) {
  return std::unique_ptr<ProcessLauncher>(new ProcessLauncher(options));
}

ProcessLauncher::~ProcessLauncher() {
  for (auto& [uid, child] : children_) {
    if (options_.groups != nullptr) options_.groups->remove(child.pid);
    ::kill(-child.pid, SIGKILL);
    ::waitpid(child.pid, nullptr, 0);
  }
}

Result<pid_t> ProcessLauncher::launch(const LaunchSpec& spec) {
  if (spec.argv.empty()) return InvalidArgument("replica " + spec.uid + " has an empty command");
  if (is_running(spec.uid)) return AlreadyExists("replica " + spec.uid + " is already running");
  for (const auto& dir : spec.create_dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return FailedPrecondition("mkdir(" + dir + "): " + ec.message());
  }
  for (const auto& [path, contents] : spec.files) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    out.close();
    if (!out) return FailedPrecondition("write(" + path + "): " + std::strerror(errno));
  }
  Fd log{::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
  if (log.fd < 0) return FailedPrecondition("open(" + spec.log_path + "): " + std::strerror(errno));
  Fd in{::open(options_.stdin_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) {
    return FailedPrecondition("open(" + options_.stdin_path + "): " + std::strerror(errno));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Internal(std::string("pipe2: ") + std::strerror(errno));
  }
  Fd read_end{pipe_fds[0]};
  Fd write_end{pipe_fds[1]};

  ExecArrays arrays(spec);
  const pid_t agent_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(spec, arrays, log.fd, in.fd, write_end.fd, agent_pid);

  // Also set the group from the parent: whichever runs first, a kill sent right
  // after launch() returns already reaches the whole group.
  ::setpgid(pid, pid);
  ::close(write_end.fd);
  write_end.fd = -1;
  // Listed before launch() returns, so the agent never has a replica the lease
  // watchdog would miss. A full table (thousands of replicas) kills the child.
  Status listed = options_.groups != nullptr ? options_.groups->add(pid) : Status::Ok();

  // EOF means exec succeeded (the pipe closed on exec); a record means it failed.
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(read_end.fd, &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  const bool exec_failed = n == static_cast<ssize_t>(sizeof(failure));
  if (exec_failed || !listed.ok()) {
    if (options_.groups != nullptr && listed.ok()) options_.groups->remove(pid);
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return exec_failed ? FailedPrecondition(describe_failure(spec, failure)) : listed;
  }
  children_[spec.uid] = Child{pid, spec.job, false, std::nullopt};
  return pid;
}

std::vector<std::string> ProcessLauncher::running_uids() const {
  std::vector<std::string> uids;
  for (const auto& [uid, child] : children_) uids.push_back(uid);
  return uids;
}

std::optional<pid_t> ProcessLauncher::pid_of(const std::string& uid) const {
  auto it = children_.find(uid);
  if (it == children_.end()) return std::nullopt;
  return it->second.pid;
}

std::optional<std::string> ProcessLauncher::job_of(const std::string& uid) const {
  auto it = children_.find(uid);
  if (it == children_.end()) return std::nullopt;
  return it->second.job;
}

Status ProcessLauncher::terminate(const std::string& uid, std::chrono::milliseconds grace) {
  auto it = children_.find(uid);
  if (it == children_.end()) return NotFound("replica " + uid + " is not running");
  Child& child = it->second;
  child.kill_requested = true;
  const auto deadline = SteadyClock::now() + grace;
  // A second request may shorten the grace, never extend it.
  if (!child.kill_deadline || deadline < *child.kill_deadline) child.kill_deadline = deadline;
  if (grace.count() <= 0) return kill_now(uid);
  if (::kill(-child.pid, SIGTERM) != 0 && errno != ESRCH) {
    return Internal("kill(-" + std::to_string(child.pid) + ", SIGTERM): " + std::strerror(errno));
  }
  return Status::Ok();
}

Status ProcessLauncher::kill_now(const std::string& uid) {
  auto it = children_.find(uid);
  if (it == children_.end()) return NotFound("replica " + uid + " is not running");
  it->second.kill_requested = true;
  if (::kill(-it->second.pid, SIGKILL) != 0 && errno != ESRCH) {
    return Internal("kill(-" + std::to_string(it->second.pid) +
                    ", SIGKILL): " + std::strerror(errno));
  }
  return Status::Ok();
}

void ProcessLauncher::escalate(SteadyClock::time_point now) {
  for (auto& [uid, child] : children_) {
    if (child.kill_deadline && now >= *child.kill_deadline) {
      ::kill(-child.pid, SIGKILL);
      child.kill_deadline.reset();  // once is enough; reap() collects it
    }
  }
}

std::vector<ProcessExit> ProcessLauncher::reap() {
  std::vector<ProcessExit> exits;
  for (auto it = children_.begin(); it != children_.end();) {
    const pid_t pid = it->second.pid;
    // Look without reaping first: until the leader is reaped its pid, and so the
    // group id, cannot be reused, so unlisting it and killing what it left in its
    // group can never hit an unrelated process.
    siginfo_t info{};
    const int peeked = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if ((peeked == 0 && info.si_pid == 0) || (peeked < 0 && errno == EINTR)) {
      ++it;
      continue;
    }
    if (options_.groups != nullptr) options_.groups->remove(pid);
    int status = 0;
    pid_t done = -1;  // stays -1 when someone else reaped it (ECHILD): the pid may be reused
    if (peeked == 0) {
      ::kill(-pid, SIGKILL);  // what the main process left behind dies with it
      do {
        done = ::waitpid(pid, &status, 0);  // exited already: does not block
      } while (done < 0 && errno == EINTR);
    }

    ProcessExit exit;
    exit.uid = it->first;
    exit.job = it->second.job;
    exit.pid = pid;
    if (done > 0 && WIFSIGNALED(status)) {
      exit.signal = WTERMSIG(status);
      exit.exit_code = 128 + exit.signal;
    } else if (done > 0 && WIFEXITED(status)) {
      exit.exit_code = WEXITSTATUS(status);
    } else {
      exit.exit_code = 128 + SIGKILL;  // ECHILD: someone else reaped it; assume the worst
      exit.signal = SIGKILL;
    }
    if (it->second.kill_requested) {
      exit.reason = "Killed";
    } else if (exit.signal != 0) {
      exit.reason = "Signaled";
    } else {
      exit.reason = exit.exit_code == 0 ? "Completed" : "Error";
    }
    exits.push_back(std::move(exit));
    it = children_.erase(it);
  }
  return exits;
}

}  // namespace cadre::agent

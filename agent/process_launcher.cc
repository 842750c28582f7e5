#include "agent/process_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent/child_exec.h"

namespace cadre::agent {
namespace {

// The replica's environment as "NAME=value" entries: exactly the spec's.
std::vector<std::string> environment_of(const LaunchSpec& spec) {
  std::vector<std::string> env;
  env.reserve(spec.env.size());
  for (const auto& [name, value] : spec.env) env.push_back(name + "=" + value);
  return env;
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
  Fd log{
      ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644)};
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

  // Prepared before fork: after fork in a multi-threaded process (ZeroMQ runs I/O
  // threads) the child may only make async-signal-safe calls (agent/child_exec.h).
  const ExecArrays arrays(spec.argv, environment_of(spec));
  ChildExec exec;
  exec.parent_pid = ::getpid();
  exec.stdin_fd = in.fd;
  exec.stdout_fd = log.fd;
  exec.stderr_fd = log.fd;
  exec.status_fd = write_end.fd;
  exec.working_dir = spec.working_dir.c_str();
  exec.argv = arrays.argv();
  exec.envp = arrays.envp();
  ASSIGN_OR_RETURN(const pid_t pid, fork_child(exec));
  ::close(write_end.fd);
  write_end.fd = -1;
  // Listed before launch() returns, so the agent never has a replica the lease
  // watchdog would miss. A full table (thousands of replicas) kills the child.
  Status listed = options_.groups != nullptr ? options_.groups->add(pid) : Status::Ok();

  const Status exec_status = await_exec(read_end.fd, exec, spec.log_path);
  if (!exec_status.ok() || !listed.ok()) {
    if (options_.groups != nullptr && listed.ok()) options_.groups->remove(pid);
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return !exec_status.ok() ? exec_status : listed;
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

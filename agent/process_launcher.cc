#include "agent/process_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent/child_exec.h"
#include "protocol/states.h"

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
struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
};

// What the child does to itself before exec: join its cgroup, set rlimits, drop
// privileges and change user. `cgroup_fds` must outlive the fork.
void confine(ChildExec& exec, const ReplicaSandbox& sandbox, const std::vector<int>& cgroup_fds) {
  exec.cgroup_fds = cgroup_fds.data();
  exec.cgroup_fd_count = static_cast<int>(cgroup_fds.size());
  exec.rlimits = sandbox.rlimits.data();
  exec.rlimit_count = static_cast<int>(sandbox.rlimits.size());
  exec.no_new_privs = sandbox.no_new_privs;
  if (sandbox.run_as) {
    exec.change_user = true;
    exec.uid = sandbox.run_as->uid;
    exec.gid = sandbox.run_as->gid;
  }
}

// The replica's cgroup limits: what it asked for, and every GPU it was not given denied.
CgroupLimits limits_of(const ReplicaSandbox& sandbox, const LaunchSpec& spec) {
  CgroupLimits limits{spec.memory_bytes, spec.cpu_millis, sandbox.pids_max, {}};
  for (size_t index = 0; index < sandbox.gpu_minors.size(); ++index) {
    const bool given = std::find(spec.gpu_indices.begin(), spec.gpu_indices.end(),
                                 static_cast<int32_t>(index)) != spec.gpu_indices.end();
    if (!given) limits.denied_gpu_minors.push_back(sandbox.gpu_minors[index]);
  }
  return limits;
}

}  // namespace

Result<std::unique_ptr<ProcessLauncher>> ProcessLauncher::Create(
    const ProcessLauncherOptions& options) {
  return std::unique_ptr<ProcessLauncher>(new ProcessLauncher(options));
}

ProcessLauncher::~ProcessLauncher() {
  for (auto& [uid, child] : children_) {
    if (options_.groups != nullptr) options_.groups->remove(child.pid);
    kill_everything(uid, child.pid);
    ::waitpid(child.pid, nullptr, 0);
    if (options_.sandbox.cgroups) options_.sandbox.cgroups->remove(uid);
  }
}

void ProcessLauncher::kill_everything(const std::string& uid, pid_t pgid) {
  ::kill(-pgid, SIGKILL);
  // A process that left the group (setsid) is still in the replica's cgroup.
  if (options_.sandbox.cgroups) options_.sandbox.cgroups->kill_all(uid);
}

Status ProcessLauncher::prepare_files(const LaunchSpec& spec) {
  namespace fs = std::filesystem;
  const std::optional<RunAs>& user = options_.sandbox.run_as;
  // The replica owns what is made for it: every folder from its replica folder down
  // to a working dir, and the leaf of anything else (its checkpoint folder), never
  // the shared folders above.
  auto own = [&](const fs::path& path) -> Status {
    if (!user || ::lchown(path.c_str(), user->uid, user->gid) == 0) return Status::Ok();
    return FailedPrecondition("chown(" + path.string() + ", " + user->user +
                              "): " + std::strerror(errno));
  };
  const fs::path replica_dir(spec.replica_dir);
  for (const auto& dir : spec.create_dirs) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return FailedPrecondition("mkdir(" + dir + "): " + ec.message());
    fs::path path(dir);
    RETURN_IF_ERROR(own(path));
    const auto relative = path.lexically_relative(replica_dir);
    if (!relative.empty() && *relative.begin() != "..") {
      for (fs::path p = path; p != replica_dir && p.has_parent_path(); p = p.parent_path()) {
        RETURN_IF_ERROR(own(p));
      }
    }
  }
  for (const auto& [path, contents] : spec.files) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    out.close();
    if (!out) return FailedPrecondition("write(" + path + "): " + std::strerror(errno));
  }
  // Logs live in a folder only the agent writes, so a replica cannot swap its log
  // for a symlink to a file the agent would then serve.
  const fs::path logs = fs::path(spec.log_path).parent_path();
  std::error_code ec;
  fs::create_directories(logs, ec);
  if (ec) return FailedPrecondition("mkdir(" + logs.string() + "): " + ec.message());
  // Nobody but the agent reads other replicas' output through it.
  fs::permissions(logs, fs::perms::owner_all, fs::perm_options::replace, ec);
  return Status::Ok();
}

Result<pid_t> ProcessLauncher::launch(const LaunchSpec& spec) {
  if (spec.argv.empty()) return InvalidArgument("replica " + spec.uid + " has an empty command");
  if (is_running(spec.uid)) return AlreadyExists("replica " + spec.uid + " is already running");
  RETURN_IF_ERROR(prepare_files(spec));
  Fd log{
      ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644)};
  if (log.fd < 0) return FailedPrecondition("open(" + spec.log_path + "): " + std::strerror(errno));
  Fd in{::open(options_.stdin_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) {
    return FailedPrecondition("open(" + options_.stdin_path + "): " + std::strerror(errno));
  }
  const ReplicaSandbox& sandbox = options_.sandbox;
  Fds cgroup_procs;  // the child joins through these; closed once it has exec'd
  if (sandbox.cgroups) {
    ASSIGN_OR_RETURN(cgroup_procs.fds, sandbox.cgroups->create(spec.uid, limits_of(sandbox, spec)));
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
  confine(exec, sandbox, cgroup_procs.fds);
  auto forked = fork_child(exec);
  if (!forked.ok() && sandbox.cgroups) sandbox.cgroups->remove(spec.uid);
  ASSIGN_OR_RETURN(const pid_t pid, std::move(forked));
  ::close(write_end.fd);
  write_end.fd = -1;
  // Listed before launch() returns, so the agent never has a replica the lease
  // watchdog would miss. A full table (thousands of replicas) kills the child.
  // A server that outlives the lease (LaunchReplica.outlives_lease) is not listed.
  const bool watched = options_.groups != nullptr && !spec.outlives_lease;
  Status listed = watched ? options_.groups->add(pid) : Status::Ok();

  const Status exec_status = await_exec(read_end.fd, exec, spec.log_path);
  if (!exec_status.ok() || !listed.ok()) {
    if (watched && listed.ok()) options_.groups->remove(pid);
    kill_everything(spec.uid, pid);
    ::waitpid(pid, nullptr, 0);
    if (sandbox.cgroups) sandbox.cgroups->remove(spec.uid);
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
  if (options_.sandbox.cgroups) options_.sandbox.cgroups->kill_all(uid);
  return Status::Ok();
}

void ProcessLauncher::escalate(SteadyClock::time_point now) {
  for (auto& [uid, child] : children_) {
    if (child.kill_deadline && now >= *child.kill_deadline) {
      kill_everything(uid, child.pid);
      child.kill_deadline.reset();  // once is enough; reap() collects it
    }
  }
}

std::vector<ProcessExit> ProcessLauncher::reap() {
  std::vector<ProcessExit> exits;
  if (options_.sandbox.cgroups) options_.sandbox.cgroups->retry_removals();
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
      kill_everything(it->first, pid);  // what the main process left behind dies with it
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
    const std::shared_ptr<ReplicaCgroups>& cgroups = options_.sandbox.cgroups;
    const bool oom = cgroups && exit.exit_code != 0 && cgroups->oom_killed(exit.uid);
    if (cgroups) cgroups->remove(exit.uid);
    if (it->second.kill_requested) {
      exit.reason = protocol::reason::kKilled;
    } else if (oom) {
      exit.reason = protocol::reason::kOOMKilled;
    } else if (exit.signal != 0) {
      exit.reason = protocol::reason::kSignaled;
    } else {
      exit.reason = exit.exit_code == 0 ? protocol::reason::kCompleted : protocol::reason::kError;
    }
    exits.push_back(std::move(exit));
    it = children_.erase(it);
  }
  return exits;
}

}  // namespace cadre::agent

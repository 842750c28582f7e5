// Starts replicas as child processes, signals them, and reaps them. Knows nothing
// of the wire: the agent turns its results into protocol messages.
//
// Each replica leads its own process group (setpgid) and, where cgroups are
// available, has its own cgroup, so a kill reaches every process it forked (even
// one that called setsid), and carries PR_SET_PDEATHSIG(SIGKILL): when the agent dies,
// its replicas die with it. The coordinator counts a lost agent's replicas as
// failed and starts them again elsewhere; an orphan left running would be a
// duplicate rank writing the same checkpoints.
//
// Not thread-safe: owned and called by the agent's single loop thread. The death
// signal is tied to the thread that forked, so launch from a long-lived thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/launch_spec.h"
#include "agent/process_group_table.h"
#include "agent/replica_sandbox.h"
#include "protocol/status.h"

namespace cadre::agent {

using SteadyClock = std::chrono::steady_clock;

// How a replica's main process ended.
struct ProcessExit {
  std::string uid;
  std::string job;
  pid_t pid = 0;
  int exit_code = 0;  // exit status, or 128+signal when a signal ended it
  int signal = 0;     // the terminating signal, 0 for a normal exit
  // "Completed", "Error", "Killed" (we were asked to stop it), "OOMKilled" (its cgroup
  // hit the memory limit), "Signaled"
  std::string reason;
};

struct ProcessLauncherOptions {
  // Stdin of every replica; replicas are batch programs, never interactive.
  std::string stdin_path = "/dev/null";
  // Told of every replica's group from its start until just before it is reaped
  // (the lease watchdog). Not owned; must outlive the launcher. nullptr: nobody.
  ProcessGroupTable* groups = nullptr;
  // User, rlimits and cgroups of every replica (agent/replica_sandbox.h).
  ReplicaSandbox sandbox;
};

class ProcessLauncher {
 public:
  static Result<std::unique_ptr<ProcessLauncher>> Create(const ProcessLauncherOptions& options);
  // SIGKILLs the groups of every replica still running and reaps them.
  ~ProcessLauncher();
  ProcessLauncher(const ProcessLauncher&) = delete;
  ProcessLauncher& operator=(const ProcessLauncher&) = delete;

  // Creates the spec's folders and files, opens its log (O_APPEND), forks and execs. Returns
  // the pid once exec succeeded. When the child could not start, returns
  // FailedPrecondition with the failing call and errno, e.g.
  // "execvp(foo): No such file or directory"; the child is already reaped.
  Result<pid_t> launch(const LaunchSpec& spec);

  bool is_running(const std::string& uid) const { return children_.count(uid) != 0; }
  std::vector<std::string> running_uids() const;
  std::optional<pid_t> pid_of(const std::string& uid) const;
  std::optional<std::string> job_of(const std::string& uid) const;

  // SIGTERM to the replica's group; SIGKILL follows from escalate() once `grace`
  // has passed. NotFound for a uid that is not running.
  Status terminate(const std::string& uid, std::chrono::milliseconds grace);
  // SIGKILL to the group at once.
  Status kill_now(const std::string& uid);
  // Sends SIGKILL to every group whose grace has run out.
  void escalate(SteadyClock::time_point now);

  // Collects the replicas whose main process has exited (never blocks). Whatever
  // the main process left behind in its group is SIGKILLed, as a container's
  // processes die with it.
  std::vector<ProcessExit> reap();

 private:
  struct Child {
    pid_t pid = 0;
    std::string job;
    bool kill_requested = false;
    std::optional<SteadyClock::time_point> kill_deadline;
  };

  explicit ProcessLauncher(ProcessLauncherOptions options) : options_(std::move(options)) {}
  // Creates the spec's folders and files, owned by the replica's user.
  Status prepare_files(const LaunchSpec& spec);
  // SIGKILL to the replica's group and every process in its cgroup.
  void kill_everything(const std::string& uid, pid_t pgid);

  ProcessLauncherOptions options_;
  std::map<std::string, Child> children_;  // by uid
};

}  // namespace cadre::agent

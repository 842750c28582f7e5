// What confines a replica on its node, decided once at agent start-up: the user it
// runs as, its rlimits, no_new_privs and its cgroup (agent/replica_cgroups.h).
//
// The rule: a replica never runs as root unless the agent was told so. A root agent
// runs replicas as --run-as (default "cadre-run", which the setup script and the
// systemd unit create); setuid drops every capability, so the agent's 0600 keys
// and its logs folder are out of the replica's reach. An unprivileged agent cannot
// change users and runs replicas as itself.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/child_exec.h"
#include "agent/replica_cgroups.h"
#include "protocol/status.h"

namespace cadre::agent {

struct RunAs {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
};

enum class CgroupMode { kAuto, kRequired, kOff };

struct SandboxOptions {
  std::string run_as = "cadre-run";  // user replicas run as when the agent is root
  bool allow_root = false;           // --allow-root-replicas: run_as may be root
  CgroupMode cgroups = CgroupMode::kAuto;
  // The subtree under the agent's group; the agent names it after its work dir
  // (cadre-replicas-<hash>), so agents sharing a host never touch each other's.
  std::string cgroup_parent = "cadre-replicas";
  int64_t pids_max = 4096;        // per replica (pids cgroup)
  rlim_t max_open_files = 65536;  // RLIMIT_NOFILE
  rlim_t max_processes = 0;       // RLIMIT_NPROC per user; 0: unchanged
  rlim_t core_bytes = 0;          // RLIMIT_CORE: no core dumps of secrets
};

struct ReplicaSandbox {
  std::optional<RunAs> run_as;  // nullopt: the agent's own user
  std::vector<ChildRlimit> rlimits;
  bool no_new_privs = true;
  int64_t pids_max = 0;
  std::shared_ptr<ReplicaCgroups> cgroups;  // nullptr: no cgroups
  // The node's GPUs by index: their device minors (NodeResources::gpu_minors). A
  // replica's cgroup denies it every GPU it was not given (where the device
  // controller exists: cgroup v1).
  std::vector<int32_t> gpu_minors;
};

// Resolves the options against this process's privileges and the system's users
// and cgroups. FailedPrecondition naming the setting when the result would be unsafe
// (a root agent, run_as root without allow_root) or impossible (no such user;
// cgroups required but unavailable).
Result<ReplicaSandbox> make_replica_sandbox(const SandboxOptions& options);

// Looks a user up by name or numeric id.
Result<RunAs> lookup_user(const std::string& name);

}  // namespace cadre::agent

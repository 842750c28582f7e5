// One control group per replica, so that what a spec asks for is what a replica
// gets: its memory request is a hard limit (going over it ends the replica
// OOMKilled, Kubernetes' reason), its CPU request a weight (cpu.shares /
// cpu.weight, Kubernetes' conversion), and a pids limit stops a fork bomb. The
// group is also how a replica is killed: a program that left its process group
// (setsid) is still in its cgroup.
//
// Both hierarchies exist on real nodes: cgroup v2 (unified; the agent's own group,
// delegated by systemd, gets an "agent" leaf for the agent and a "replicas" subtree)
// and v1 (one mount per controller; memory, pids, cpu and devices are used). A
// replica is denied the GPUs it was not given by its v1 devices group, or on v2 by
// a BPF device program on its group (gpu_device_filter.h). Detection reads
// /proc/self/mounts and /proc/self/cgroup, so the agent nests under whatever group
// it was started in.
//
// Not thread-safe: owned by the process launcher, on the agent's loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::agent {

enum class CgroupVersion { kV1, kV2 };

// Where the process's mount table and its own groups are read: the kernel's view
// by default; tests point them at a tree laid out as a cgroup v2 system.
struct CgroupHost {
  std::string mounts = "/proc/self/mounts";
  std::string own_groups = "/proc/self/cgroup";
};

struct CgroupLimits {
  int64_t memory_bytes = 0;  // 0: no memory limit
  int64_t cpu_millis = 0;    // 0: the default weight
  int64_t pids_max = 0;      // 0: no pids limit
  // Minors of the NVIDIA devices (/dev/nvidia<minor>, major 195) the replica may
  // not open: the node's GPUs it was not given.
  std::vector<int32_t> denied_gpu_minors;
};

class ReplicaCgroups {
 public:
  // Finds the hierarchy and creates the agent's replica parent groups. Unavailable
  // (with why) when no usable hierarchy is mounted or it is not writable.
  // `parent_name` names the subtree, e.g. "cadre-replicas".
  static Result<std::unique_ptr<ReplicaCgroups>> Create(const std::string& parent_name,
                                                        const CgroupHost& host = {});
  // Removes the parent groups if they are empty by then (the agent's clean exit).
  ~ReplicaCgroups();

  CgroupVersion version() const { return version_; }
  // The parent folders replicas are created under, one per controller (v1) or one (v2).
  const std::vector<std::string>& parents() const { return parents_; }
  // Whether CgroupLimits::denied_gpu_minors is enforced: a v1 devices hierarchy,
  // or on v2 a kernel that runs BPF device programs for this process.
  bool isolates_devices() const;

  // Creates the group of `uid` with `limits` and opens the files that move a
  // process into it (the caller closes them): the child writes "0" to each
  // between fork and exec (async-signal-safe), so it and everything it starts are
  // inside before its program runs. v1 opens `tasks`, not `cgroup.procs`: the
  // child is single-threaded there, so moving the calling thread moves it whole,
  // and the kernel then skips the global threadgroup lock whose RCU grace period
  // made each cgroup.procs write cost ~9 ms (0.08 ms this way; bench/RESULTS.md).
  Result<std::vector<int>> create(const std::string& uid, const CgroupLimits& limits);
  // SIGKILLs every process in the group; returns how many it signalled.
  int kill_all(const std::string& uid);
  // Whether the kernel's OOM killer has ended a process of this group.
  bool oom_killed(const std::string& uid) const;
  // Removes the group's folders; a folder still busy (a process not yet gone) is
  // retried on later calls.
  void remove(const std::string& uid);
  // Removes the folders whose processes have gone since (called on every reap).
  void retry_removals();
  // SIGKILLs whatever an earlier run of this agent left in its replica groups and
  // removes them; returns how many groups there were. At start-up, before any
  // launch: replicas die with the agent (PR_SET_PDEATHSIG), but what they started
  // does not, and the coordinator has counted them failed and started them
  // again elsewhere, so a survivor would be a second copy of a rank.
  struct Leftovers {
    int groups = 0;
    int processes = 0;
  };
  Leftovers stop_leftovers();
  // The group's folders, one per parent (pure: safe to call from any thread).
  std::vector<std::string> dirs_of(const std::string& uid) const;

 private:
  ReplicaCgroups(CgroupVersion version, std::vector<std::string> parents);

  CgroupVersion version_;
  bool device_programs_ = false;      // v2: BPF device programs load here
  std::vector<std::string> parents_;  // v1: memory, pids, cpu; v2: one
  std::vector<std::string> pending_removal_;
};

}  // namespace cadre::agent

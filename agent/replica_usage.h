// What a replica uses now, for the agent's /metrics: CPU time and memory.
//
// With cgroups (agent/replica_cgroups.h) the replica's group has the kernel's own
// accounting of every process it ever ran: v2 `cpu.stat` usage_usec and
// `memory.current`; v1 `cpuacct.usage` (where the cpu and cpuacct controllers are
// mounted together) and `memory.usage_in_bytes`. Without cgroups, the processes of
// its process group (it leads one) are summed from /proc: utime + stime and
// resident pages of those alive now (a child that already exited is not counted).
//
// Reads only files; no state; safe on any thread. Every file read is bounded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/replica_cgroups.h"
#include "protocol/status.h"

namespace cadre::agent {

struct ReplicaUsage {
  double cpu_seconds = 0;    // user + system, since it started
  int64_t memory_bytes = 0;  // v2 memory.current / v1 usage (page cache too); else resident
  int64_t processes = 0;     // alive now
};

// From the replica's cgroup folders (ReplicaCgroups::dirs_of): NotFound when they
// hold no accounting (a v1 cpu controller without cpuacct).
Result<ReplicaUsage> cgroup_usage(CgroupVersion version, const std::vector<std::string>& dirs);

// One /proc/<pid>/stat line: its process group, CPU ticks (utime + stime) and
// resident pages; nullopt for a line that is not one (bounded parse).
struct ProcStat {
  pid_t pgrp = 0;
  uint64_t cpu_ticks = 0;
  int64_t rss_pages = 0;
};
std::optional<ProcStat> parse_proc_stat(std::string_view line);

// The usage of each process group in `pgids`, from one scan of `proc_root`.
std::map<pid_t, ReplicaUsage> process_group_usage(const std::set<pid_t>& pgids,
                                                  const std::string& proc_root = "/proc");

}  // namespace cadre::agent

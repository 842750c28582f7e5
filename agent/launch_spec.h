// What the process launcher needs to start one replica, computed from a
// LaunchReplica message: argv, the full environment (the environment contract of
// DESIGN.md), and the folders it runs and logs in. Pure functions; no side effects.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::agent {

struct LaunchSpec {
  std::string uid;                           // replica instance id
  bool outlives_lease = false;               // not listed with the lease watchdog
  std::string job;                           // owning job (for logs)
  std::vector<std::string> argv;             // command followed by args
  std::map<std::string, std::string> env;    // the complete environment of the process
  std::string replica_dir;                   // <work-dir>/replicas/<uid>
  std::string working_dir;                   // absolute; the process starts here
  std::string log_path;                      // stdout and stderr are appended here
  std::vector<std::string> create_dirs;      // folders to create before starting
  std::map<std::string, std::string> files;  // path -> contents, written before starting
  int64_t memory_bytes = 0;                  // the request: the replica's cgroup memory limit
  int64_t cpu_millis = 0;                    // the request: the replica's cgroup CPU weight
  std::vector<int32_t> gpu_indices;          // the GPUs it was given (CUDA_VISIBLE_DEVICES)
  // Metrics: the source ("stdout", "file", "push"), the file to tail for "file"
  // (absolute), and the formats. The agent adds the push socket (CADRE_METRICS_ADDR).
  protocol::MetricsCollection metrics;
};

// True for names safe to use as one path component: [A-Za-z0-9_.-], not "." or "..",
// at most 253 bytes. Uids and job names become folder names, so anything else
// (a '/' above all) is refused rather than escaped.
bool is_safe_path_component(const std::string& name);

// <work-dir>/logs/<uid>.log: outside the replica's folder, in one it cannot write
std::string replica_log_path(const std::string& work_dir, const std::string& uid);

// Where the log of `uid` is to be read: replica_log_path, or, for a replica that
// an agent from before logs moved out of the replica folder started (no such file),
// its <work-dir>/replicas/<uid>/output.log, so upgrading agents keeps old logs.
std::string existing_log_path(const std::string& work_dir, const std::string& uid);

// The agent's own environment as a map (PATH, HOME, ...).
std::map<std::string, std::string> current_environment();

// Builds the spec: `base_env`, then msg.env on top (the contract the coordinator
// computed), then CUDA_VISIBLE_DEVICES from gpu_indices (empty when none, so a
// CPU replica never grabs the node's GPUs) with CUDA_DEVICE_ORDER=PCI_BUS_ID unless
// msg.env sets it (CUDA's own default order is fastest first; nvidia-smi's indices,
// which the scheduler and the device cgroup use, are PCI bus order), then CADRE_CHECKPOINT_DIR =
// <work-dir>/checkpoints/<job> unless msg.env sets it. CADRE_JOB, CADRE_NAMESPACE,
// CADRE_REPLICA_TYPE, CADRE_REPLICA_INDEX, CADRE_RANK and CADRE_WORLD_SIZE are filled
// from the message's own fields when msg.env lacks them. A non-empty msg.hostfile
// becomes <replica dir>/hostfile, and CADRE_HOSTFILE and OpenMPI's
// OMPI_MCA_orte_default_hostfile point at it whatever msg.env says (the file is
// what the coordinator computed for this incarnation).
Result<LaunchSpec> make_launch_spec(const protocol::LaunchReplica& msg, const std::string& work_dir,
                                    const std::map<std::string, std::string>& base_env);

}  // namespace cadre::agent

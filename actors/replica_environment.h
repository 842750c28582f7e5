// The replica environment contract (DESIGN.md): what every replica of a job is told
// about itself and its peers, computed once the whole gang is placed. Cadre's own
// variables, plus TF_CONFIG as TFJob writes it, MASTER_ADDR/MASTER_PORT/RANK/
// WORLD_SIZE/LOCAL_RANK as PyTorchJob writes them, and an MPI hostfile for
// Launcher jobs. docs/training-jobs.md lists them.
#pragma once

#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/spec/train_job_spec.h"

namespace cadre::actors {

struct JobIdentity {
  std::string name;
  std::string ns;
  std::string token;            // CADRE_JOB_TOKEN: authenticates the job's replicas to each other
  std::string checkpoint_dir;   // CADRE_CHECKPOINT_DIR; empty: the agent picks a local one
  std::string checkpoint_root;  // the shared folder checkpoint_dir lies in (LaunchReplica)
  int64_t created_ms = 0;       // when the job was created: orders its generations (see below)
  protocol::MetricsCollection metrics;  // a trial's collector; default: its output
  std::string readiness_path;           // a serving replica's: what its agent probes
};

// A replica instance's uid: `<job>-<incarnation>-<replica>-<instance>`. The
// incarnation is the job's creation time in base 36, so a job deleted and created
// again under the same name never reuses a uid of the one before: not its agent
// folder, not its log, and a late report of an old replica cannot pass for a new one.
std::string replica_uid(const std::string& job, int64_t created_ms, const std::string& replica,
                        int32_t instance);
// `<job>-<incarnation>-`: how every replica uid of that job incarnation begins.
std::string replica_uid_prefix(const std::string& job, int64_t created_ms);

// CADRE_GENERATION of a replica instance: its instance number (the uid's suffix)
// under the job's creation time, so it grows within a job and across a job that
// is deleted and created again under the same name, whose checkpoint folder (and
// its fence, training/checkpoint_fence.h) outlives the first.
int64_t fencing_generation(int64_t created_ms, const std::string& uid);

// The LaunchReplica for replicas[i]; every replica must have its node address and
// port set. User env from the template wins over the contract.
protocol::LaunchReplica make_launch(const spec::TrainJobSpec& spec,
                                    const std::vector<protocol::ReplicaStatus>& replicas, size_t i,
                                    const JobIdentity& job);

// The host name an MPI hostfile uses for a Worker replica ("<job>-worker-0").
std::string mpi_host_name(const std::string& job, const protocol::ReplicaStatus& replica);

}  // namespace cadre::actors

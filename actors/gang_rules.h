// The rules a job supervisor follows, free of CAF so they are unit-testable: which
// replicas a spec has and in which rank order, when a job has succeeded, and what
// to do when a replica's process ends (Kubeflow's restartPolicy, successPolicy and
// backoffLimit semantics, plus Cadre's whole-gang restart for collectives).
#pragma once

#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/spec/train_job_spec.h"

namespace cadre::actors {

// "worker-1": the type in lower case, '-', the index.
std::string replica_name(const std::string& type, int32_t index);

// Every replica of the spec, Pending, in rank order (spec::replica_types() order,
// then index); rank = position.
std::vector<protocol::ReplicaStatus> initial_replicas(const spec::TrainJobSpec& spec);

// Collectives (no PS replicas) restart as one gang: a ring or an MPI world cannot
// take a single new member. PS jobs restart a failed replica in place.
bool restarts_as_gang(const spec::TrainJobSpec& spec);

// Whether the success policy is met by the replicas' current states.
bool job_succeeded(const spec::TrainJobSpec& spec,
                   const std::vector<protocol::ReplicaStatus>& replicas);

// Exit reasons that say nothing about the program: the node or the launch failed.
bool infrastructure_failure(const std::string& why);

struct ExitDecision {
  enum class Verdict {
    kNone,            // nothing to do (e.g. a worker other than worker 0 finished)
    kSucceeded,       // the job succeeded
    kRestartReplica,  // start a new instance of this replica in place
    kRestartGang,     // stop every replica and place the whole gang again
    kFail,            // the job failed
  };
  Verdict verdict = Verdict::kNone;
  bool counts = true;  // counts against backoffLimit
  std::string reason;  // for the job's condition when it ends, e.g. "BackoffLimitExceeded"
  std::string message;
};

// Replica `i` has just ended (its state, exit_code and reason already updated).
// `restarts` is how many restarts the job has used.
// A replica the agent did not start because its port was taken (PortInUse) never
// ran, so the gang is placed again for free, on other ports (the scheduler rotates
// them) — this many times in a row; past that something holds the node's port
// range, and a taken port counts like any lost replica.
inline constexpr int32_t kFreePortRetries = 10;

// `port_retries`: the free placements after a taken port since the job last ran.
ExitDecision decide_after_exit(const spec::TrainJobSpec& spec,
                               const std::vector<protocol::ReplicaStatus>& replicas, size_t i,
                               int32_t restarts, int32_t port_retries = 0);

// "replica worker-1 exited with code 3", "... was killed by signal 9", "... lost: <why>".
std::string describe_exit(const protocol::ReplicaStatus& replica, int32_t signal,
                          const std::string& detail);

}  // namespace cadre::actors

// What a deleted job left on this node, and removing it.
//
// A replica's folder (replicas/<uid>/: its working dir, TMPDIR, hostfile) and its
// log (logs/<uid>.log) outlive it so that `cadre logs` can read them after the job
// ends; once the job is deleted nothing can (logs are found through the job), and
// the coordinator sends RemoveReplicaFiles (protocol/messages.h). Checkpoints are
// not touched: a model may be served from them after its TrainJob is gone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::agent {

// Whether the request names only folders inside the work dir: a uid prefix and
// replica names that are plain path components, and not too many of them.
Status check_remove_request(const protocol::RemoveReplicaFiles& request);

// Whether `uid` is a replica of the request's job: uid_prefix, one of its replica
// names, '-', an instance number; a job whose name merely begins the same does not
// match.
bool is_replica_of(const std::string& uid, const protocol::RemoveReplicaFiles& request);

// The uids of the request's job that have a folder or a log under `work_dir`, sorted.
std::vector<std::string> replica_files_of(const std::string& work_dir,
                                          const protocol::RemoveReplicaFiles& request);

// Removes replicas/<uid>/ and logs/<uid>.log under `work_dir` (symbolic links in
// them are removed, never followed); the bytes freed, or what failed.
Result<uint64_t> remove_replica_files(const std::string& work_dir, const std::string& uid);

}  // namespace cadre::agent

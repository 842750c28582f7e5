// What one replica of an InferenceService revision runs: a one-replica Job whose
// command stages the revision's model as a one-model repository in the replica's
// folder and becomes cadre-serve on the port the coordinator reserved, with the
// predictor's batching as the model's config.pbtxt, its resources, and a grace
// period long enough for the requests cadre-serve holds on SIGTERM.
#pragma once

#include <string>

#include "protocol/messages.h"
#include "protocol/spec/inference_service_spec.h"

namespace cadre::actors {

// What the replica's agent probes before the replica counts as ready (V2's readiness).
inline constexpr const char* kReplicaReadinessPath = "/v2/health/ready";

// The job manifest (YAML) replica `job` of `rev` runs as.
std::string render_replica_job(const protocol::InferenceServiceStatus& service,
                               const spec::InferenceServiceSpec& spec,
                               const protocol::RevisionStatus& rev, const std::string& job);

}  // namespace cadre::actors

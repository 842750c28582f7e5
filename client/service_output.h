// What `cadre get inferenceservices` and `cadre describe inferenceservice` print,
// and their `-o json` shapes (docs/cli.md). Keys are camelCase; a key is only ever
// added, never renamed or retyped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cadre::client {

// NAME URL READY REPLICAS (ready/desired) TRAFFIC ("fmnist-00001 80%, fmnist-00002 20%") AGE
// (+ LATEST PREVIOUS when wide).
std::string services_table(const std::vector<protocol::InferenceServiceStatus>& services,
                           int64_t now_ms, bool wide);

// The describe page: URL, conditions, traffic, revisions with their replicas
// (node, port, state), and events.
std::string describe_service(const protocol::InferenceServiceStatus& service, int64_t now_ms);

// {name, namespace, url, ready, traffic[{revisionName, percent, latestRevision}],
//  replicas[{name, revision, state, node, address, port, message}], revisions[{name,
//  storageUri, modelFormat, desiredReplicas, readyReplicas}], latestCreatedRevision,
//  latestReadyRevision, latestRolledoutRevision, previousRolledoutRevision,
//  canaryTrafficPercent, conditions[], createdAt}; with `detail`, also events.
nlohmann::json service_to_json(const protocol::InferenceServiceStatus& service, bool detail);
nlohmann::json services_to_json(const std::vector<protocol::InferenceServiceStatus>& services);

// The `cadre tokens list` table: ID NAMESPACE DESCRIPTION AGE.
std::string tokens_table(const std::vector<protocol::TokenInfo>& tokens, int64_t now_ms);

}  // namespace cadre::client

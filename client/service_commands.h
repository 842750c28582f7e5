// The commands that are about inference services and their tokens: wait for a
// service's condition, find a replica's job for `logs`, and make tokens.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "client/coordinator.h"

namespace cadre::client {

// Ready, PredictorReady or IngressReady (any case, also as condition=NAME).
Result<protocol::ServiceConditionType> parse_service_condition(const std::string& condition);

// Ok once the service's condition `condition` (Ready, PredictorReady or
// IngressReady, also as condition=NAME) is True; an error naming the condition's
// reason when time runs out.
Status wait_for_service(Coordinator& coordinator, const std::string& name,
                        const std::string& condition, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200));

// The job that runs `replica` of the service (a replica's name is its job's name);
// with no replica given, its first ready one, else its newest.
Result<std::string> service_replica_job(Coordinator& coordinator, const std::string& service,
                                        const std::string& replica);

// Makes a token for `ns`; prints it (shown only this once) and its id. When
// `save_to` is set, writes the token there (0600) instead of printing it.
Status create_token(Coordinator& coordinator, const std::string& ns, const std::string& description,
                    const std::string& save_to, std::ostream& out);

}  // namespace cadre::client

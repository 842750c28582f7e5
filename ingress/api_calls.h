// What each call of the ingress's HTTP API asks the coordinator, and how the reply
// becomes the JSON answer (in the shapes `cadre get -o json` prints). Apart from
// ApiHandler, which authenticates and answers, so each verb reads on its own.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "client/coordinator_client.h"
#include "ingress/api_request.h"
#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::ingress {

// Asks the coordinator (on an API client thread) and makes the answer of its reply.
using ApiAsk =
    std::function<Result<nlohmann::json>(client::CoordinatorClient&, const protocol::ApiRequest&)>;

struct ApiCall {
  protocol::ApiRequest request;  // the caller's namespace and user are the handler's to set
  ApiAsk ask;
};

// The call `query` names ("get", "delete", "apply", "stop", "start", "logs",
// "lineage", "metrics"); `body` is a POSTed manifest (apply only).
ApiCall api_call(const ApiQuery& query, std::string body);

// The JSON of `reply` for `query` (a list page or one object), as `cadre get -o
// json` shapes it; NotFound when one object was asked for and is not there.
Result<nlohmann::json> api_json(const ApiQuery& query, const protocol::GetReply& reply);
// {data, offset, nextOffset, finished}: a piece of a replica's log.
nlohmann::json logs_json(const protocol::LogsReply& reply);
// {name, points: [{replica, name, value, step, timeMs}], truncated}, oldest first.
nlohmann::json metrics_json(const protocol::MetricsHistoryReply& reply);

}  // namespace cadre::ingress

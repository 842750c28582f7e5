// The Open Inference Protocol's HTTP/REST routes (with Triton's binary-data,
// statistics and repository extensions) over an InferenceServer, and the metrics
// route. Status codes: 400 bad request, 404 unknown model or version or route,
// 405 wrong method, 413 body too large (the transport), 503 not ready, queue
// full, timed out or shutting down.
#pragma once

#include <string>

#include "serving/http/http_server.h"
#include "serving/http/v2_json.h"
#include "serving/inference_server.h"

namespace cadre::serving::http {

struct V2RoutesOptions {
  DecodeLimits limits;
  std::string server_version;
};

HttpHandler make_v2_handler(InferenceServer* server, const V2RoutesOptions& options);
// GET /metrics in Prometheus' text format (serving/metrics.h).
HttpHandler make_metrics_handler(InferenceServer* server);

// The HTTP status a Status maps to.
int http_status(const Status& status);

}  // namespace cadre::serving::http

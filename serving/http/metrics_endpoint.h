// A Prometheus endpoint (the coordinator's and the agents'): GET /metrics over HTTP on its own
// port, behind a bearer token (Prometheus sends it from `authorization.credentials_file`), checked
// when the headers arrive. Anything else is 404; nothing else is served.
//
// Threading: one HTTP thread of its own, which calls Render: a slow render (the
// coordinator asking its actors, an agent reading its replicas' usage) only ever
// delays the next scrape.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "protocol/status.h"
#include "serving/http/http_server.h"

namespace cadre::serving::http {

struct MetricsEndpointOptions {
  std::string host = "127.0.0.1";
  int port = 7073;    // 0: any free port
  std::string token;  // required: Authorization: Bearer <token>
};

class MetricsEndpoint {
 public:
  using Render = std::function<std::string()>;  // the whole exposition text
  static Result<std::unique_ptr<MetricsEndpoint>> Create(const MetricsEndpointOptions& options,
                                                         Render render);
  int port() const { return server_->port(); }

 private:
  explicit MetricsEndpoint(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {}
  std::unique_ptr<HttpServer> server_;
};

// The token in `path`, made (random, 0600) when the file does not exist yet, so
// the endpoint is never open: Prometheus reads the same file.
Result<std::string> load_or_create_metrics_token(const std::string& path);

}  // namespace cadre::serving::http

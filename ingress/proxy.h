// The ingress's request path: /v2/models/<name>/... is authenticated against the
// service's namespace (when its headers arrive, before its body is read), sent to a replica the
// route table picks (canary weights, then least outstanding requests) with the replica's own bearer
// token, and the replica's answer is passed back. A request that never reached a replica (it could
// not connect) is tried on another; one that did is never sent twice. A request that cannot be
// sent yet (its revision is at zero replicas, or every replica has containerConcurrency requests)
// is held by the activator and counted as load, so the autoscaler starts a replica. /v2/health/live
// and /v2/health/ready answer for the ingress itself, /metrics serves its Prometheus metrics.
#pragma once

#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "ingress/activator.h"
#include "ingress/ingress_metrics.h"
#include "ingress/load_meter.h"
#include "ingress/login_sessions.h"
#include "ingress/route_table.h"
#include "ingress/upstream_client.h"
#include "serving/http/http_server.h"

namespace cadre::ingress {

struct ProxyOptions {
  int max_retries = 2;
};

class Proxy {
 public:
  // `sessions`, when given, lets a browser session of the dashboard call a service
  // of its namespace (with its CSRF token), as a bearer token would.
  Proxy(ProxyOptions options, const RouteTable& table, UpstreamClient& upstream,
        IngressMetrics& metrics, LoadMeter& load, Activator& activator,
        LoginSessions* sessions = nullptr)
      : options_(options),
        table_(table),
        upstream_(upstream),
        metrics_(metrics),
        load_(load),
        activator_(activator),
        sessions_(sessions) {}

  // An HttpHandler: never blocks; answers from the upstream client's threads.
  void handle(serving::http::HttpRequest request, serving::http::Responder respond);
  // HttpServerOptions::check_headers: a request to a service that does not exist
  // or with a token it does not take is answered before its body is read.
  std::optional<serving::http::HttpResponse> check_headers(
      const serving::http::HttpRequest& head) const;

 private:
  struct Call;
  void dispatch(std::shared_ptr<Call> call);
  // Sends to the picked replica or answers why it cannot; or, when the request must
  // wait, the Pick that says why (it took no slot).
  std::optional<Pick> try_send(const std::shared_ptr<Call>& call);
  void send(std::shared_ptr<Call> call, const Pick& pick);
  void hold(std::shared_ptr<Call> call, const Pick& pick);
  void finish(const std::shared_ptr<Call>& call, serving::http::HttpResponse response,
              const std::string& revision);
  std::optional<serving::http::HttpResponse> refusal(const std::string& path,
                                                     const serving::http::HttpRequest& head) const;
  double uniform();

  ProxyOptions options_;
  const RouteTable& table_;
  UpstreamClient& upstream_;
  IngressMetrics& metrics_;
  LoadMeter& load_;          // what the autoscaler hears
  Activator& activator_;     // holds what cannot be sent yet
  LoginSessions* sessions_;  // browser sessions (may be null: tokens only)
  std::mutex random_mutex_;  // guards random_
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace cadre::ingress

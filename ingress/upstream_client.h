// HTTP/1.1 to serving replicas, for the ingress: asynchronous (Boost.Beast), with
// a pool of keep-alive connections per replica so a request does not pay a TCP
// handshake, and a deadline per request. The result says whether the request
// ever reached the replica: only one that did not may be retried elsewhere (an
// inference is not known to be idempotent).
//
// Threading: requests run on event loops (serving/http/event_loops.h): a request
// sent from a loop thread (the HTTP server's handler, when the server shares the
// loops) runs on that loop, so the request never changes threads; one sent from
// elsewhere goes to the next loop. `done` is called on that loop, once per
// request. Each loop has its own idle pool, touched only by its thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/status.h"
#include "serving/http/event_loops.h"

namespace cadre::ingress {

struct UpstreamRequest {
  std::string address;
  int port = 0;
  std::string method;  // "GET", "POST", ...
  std::string target;
  std::string body;
  std::string content_type;
  std::string inference_header;  // Inference-Header-Content-Length (binary tensors)
  std::string authorization;     // sent as is
  std::chrono::milliseconds timeout{60000};
};

struct UpstreamResponse {
  int status = 0;
  std::string content_type;
  std::string inference_header;
  std::string body;
};

struct UpstreamResult {
  Status status;         // Ok: `response` is the replica's answer
  bool reached = false;  // the request was sent whole: never retry it elsewhere
  UpstreamResponse response;
};

using UpstreamDone = std::function<void(UpstreamResult)>;

struct UpstreamClientOptions {
  // The loops to run on (shared with the HTTP server); null: `threads` of its own.
  std::shared_ptr<serving::http::EventLoops> loops;
  int threads = 2;
  std::chrono::milliseconds connect_timeout{1000};
  size_t max_response_bytes = 64u << 20;
  size_t max_idle_per_endpoint = 128;         // keep-alive connections kept per replica
  std::chrono::milliseconds idle_for{20000};  // below cadre-serve's 60 s keep-alive
};

class UpstreamClient {
 public:
  static Result<std::unique_ptr<UpstreamClient>> Create(const UpstreamClientOptions& options);
  ~UpstreamClient();
  void send(UpstreamRequest request, UpstreamDone done);

  class Impl;

 private:
  explicit UpstreamClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cadre::ingress

// The ingress's calls to the coordinator for its HTTP API: a few worker threads,
// each with its own CURVE connection to the coordinator's ingress port (the
// ingress's key), take calls from a bounded queue in order. A call waits at most
// the connection's timeout; a full queue refuses a call at once, so a flood of
// API requests can neither grow the ingress nor delay its route polls (they have
// a connection of their own).
//
// Threading: submit() from any thread; each Work runs on a worker, which owns
// the CoordinatorClient it is given.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "client/coordinator_client.h"

namespace cadre::ingress {

struct ApiClientOptions {
  client::CoordinatorClientOptions coordinator;  // the ingress port, the ingress's key
  int threads = 2;
  size_t max_queued = 256;
};

class ApiClient {
 public:
  using Work = std::function<void(client::CoordinatorClient&)>;
  static Result<std::unique_ptr<ApiClient>> Create(const ApiClientOptions& options);
  ~ApiClient();

  // Unavailable when max_queued calls already wait.
  Status submit(Work work);

 private:
  explicit ApiClient(ApiClientOptions options) : options_(std::move(options)) {}
  void run(client::CoordinatorClient& client);

  ApiClientOptions options_;
  std::mutex mutex_;  // guards queue_ and stop_
  std::condition_variable ready_;
  std::deque<Work> queue_;
  bool stop_ = false;
  std::vector<std::unique_ptr<client::CoordinatorClient>> clients_;  // one per thread
  std::vector<std::thread> threads_;
};

}  // namespace cadre::ingress

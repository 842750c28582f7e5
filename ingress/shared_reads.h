// One API read for every watch stream that watches the same thing: streams of the
// same namespace and target share the answer of a read at most `fresh` old, and
// while a read is out the others wait for it rather than ask again. A dashboard
// open in fifty browsers on the jobs list costs the coordinator one read a
// second, not fifty.
//
// Sharing is safe because an API answer depends only on the namespace it is read
// as and the target (callers are authenticated per stream before they share).
//
// Thread-safety: read() may be called from any thread; answers are delivered on
// the thread the underlying read answers on, outside the lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serving/http/http_server.h"

namespace cadre::ingress {

class SharedReads : public std::enable_shared_from_this<SharedReads> {
 public:
  using Read = std::function<void(const serving::http::HttpRequest&, serving::http::Responder)>;

  // `read` asks the API (ApiHandler::handle); `max_keys` bounds what is kept.
  SharedReads(Read read, std::chrono::milliseconds fresh, size_t max_keys)
      : read_(std::move(read)), fresh_(fresh), max_keys_(max_keys) {}

  // The answer for `key` (namespace and target), reading with `request` when no
  // fresh answer is kept and none is being read.
  void read(const std::string& key, const serving::http::HttpRequest& request,
            serving::http::Responder done);
  size_t reads() const;  // reads made, for tests and metrics
  size_t keys() const;   // answers kept

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Clock::time_point at{};
    serving::http::HttpResponse answer;
    bool answered = false;
    bool in_flight = false;
    std::vector<serving::http::Responder> waiting;
  };
  void forget_stale(Clock::time_point now);  // under mutex_

  Read read_;
  const std::chrono::milliseconds fresh_;
  const size_t max_keys_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  size_t reads_ = 0;
};

}  // namespace cadre::ingress

// Live pages without polling from the browser: GET /api/v1/watch/<any API read>
// (a list with its filters, one object, a job's metrics) answers as a stream of
// Server-Sent Events. Every `interval` the ingress checks the caller again (the
// same credentials and namespace checks as the read, so an ended session ends the
// stream) and reads what the path names through the API, sharing that read with
// every stream of the same namespace and target (shared_reads.h: one read per
// interval however many watch), and sends it whole when it changed:
//
//   event: snapshot            the JSON the read answered, on one line
//   data: {...}
//
//   event: error               the read failed ({"error", "status"}); 401, 403 and
//   data: {...}                404 end the stream, others (503) are retried
//
// and a comment line every `keepalive` while nothing changes, so proxies keep the
// connection and a closed browser is noticed. A stream ends after `lifetime`
// (EventSource reconnects); at most `max_streams` are open at once (503 past it).
//
// Threading: each stream runs on its connection's strand; reads answer on API
// threads and are posted back to it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "ingress/api_handler.h"
#include "ingress/shared_reads.h"

namespace cadre::serving::http {
struct HttpConnection;
}

namespace cadre::ingress {

inline constexpr std::string_view kWatchPrefix = "/api/v1/watch/";

struct WatchStreamOptions {
  std::chrono::milliseconds interval{1000};  // how often the read is asked again
  std::chrono::milliseconds keepalive{15000};
  std::chrono::milliseconds lifetime{3600 * 1000};
  size_t max_streams = 256;
};

class WatchStreams {
 public:
  WatchStreams(WatchStreamOptions options, ApiHandler& api)
      : options_(options),
        api_(api),
        reads_(std::make_shared<SharedReads>(
            [&api](const serving::http::HttpRequest& r, serving::http::Responder done) {
              api.handle(r, std::move(done));
            },
            options.interval, 2 * options.max_streams)) {}

  // The API read a watch path names: "/api/v1/watch/jobs?phase=Running" ->
  // "/api/v1/jobs?phase=Running".
  static std::string read_target(std::string_view watch_target);

  // Takes a connection whose request's headers named a path under kWatchPrefix.
  void take(std::shared_ptr<serving::http::HttpConnection> connection);
  size_t open() const { return open_->load(); }
  size_t reads() const { return reads_->reads(); }  // API reads made for the streams

 private:
  WatchStreamOptions options_;
  ApiHandler& api_;
  std::shared_ptr<SharedReads> reads_;
  // Shared with the streams, which may outlive a request's answer.
  std::shared_ptr<std::atomic<size_t>> open_ = std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace cadre::ingress

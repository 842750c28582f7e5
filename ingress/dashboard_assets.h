// The web dashboard's files (web/, built by npm into share/cadre/web), served by
// the ingress beside inference, notebooks and the API, so one port and one origin
// hold it all. The files are read once at start-up, bounded in count and bytes,
// and answered from memory: nothing a request names ever reaches the file system.
//
//   GET /            redirects to /ui/
//   GET /ui/...      index.html (the page routes itself from the path)
//   GET /assets/F    one built file (hashed names: cached for good)
//   GET /favicon.ico assets/favicon.svg
//
// Every answer carries a Content-Security-Policy without inline script or style,
// and refuses framing. The files are public: they hold no data, which comes from
// /api/v1/ with the browser's session.
//
// Thread-safety: immutable after Create; serve may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/status.h"
#include "serving/http/http_server.h"

namespace cadre::ingress {

struct DashboardAssetsOptions {
  std::string root;                    // folder with index.html and assets/; "" none
  size_t max_files = 256;              // more files than this: Create fails
  size_t max_total_bytes = 32u << 20;  // more bytes than this: Create fails
};

inline constexpr std::string_view kDashboardPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

class DashboardAssets {
 public:
  // Reads every file under `root`. A root that does not exist gives a server that
  // answers 404 with how to build the dashboard (the ingress runs without it).
  static Result<std::unique_ptr<DashboardAssets>> Create(const DashboardAssetsOptions& options);

  // Whether the dashboard answers this path.
  static bool handles(std::string_view path);
  serving::http::HttpResponse serve(const serving::http::HttpRequest& request) const;
  size_t files() const { return files_.size(); }

 private:
  struct File {
    std::string content_type;
    std::string body;
  };
  explicit DashboardAssets(std::string root) : root_(std::move(root)) {}

  std::string root_;
  std::map<std::string, File, std::less<>> files_;  // by path under the root ("assets/app.js")
};

}  // namespace cadre::ingress

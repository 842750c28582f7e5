#include "ingress/dashboard_assets.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cadre::ingress {
namespace {

namespace fs = std::filesystem;
using serving::http::HttpRequest;
using serving::http::HttpResponse;

std::string content_type_of(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

HttpResponse answer(int status, std::string content_type, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  r.headers = {{"Content-Security-Policy", std::string(kDashboardPolicy)},
               {"X-Frame-Options", "DENY"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

HttpResponse text(int status, const std::string& message) {
  auto r = answer(status, "text/plain; charset=utf-8", message + "\n");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

Result<std::unique_ptr<DashboardAssets>> DashboardAssets::Create(
    const DashboardAssetsOptions& options) {
  std::unique_ptr<DashboardAssets> assets(new DashboardAssets(options.root));
  std::error_code ec;
  if (options.root.empty() || !fs::is_directory(options.root, ec)) {
    if (!options.root.empty()) {
      spdlog::warn("ingress: no dashboard at {} (scripts/build.sh builds web/ into it)",
                   options.root);
    }
    return assets;
  }
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(options.root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (assets->files_.size() >= options.max_files) {
      return InvalidArgument("dashboard " + options.root + ": more than " +
                             std::to_string(options.max_files) + " files");
    }
    const auto size = it->file_size(ec);
    if (ec) break;
    total += size;
    if (total > options.max_total_bytes) {
      return InvalidArgument("dashboard " + options.root + ": more than " +
                             std::to_string(options.max_total_bytes) + " bytes");
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) return Unavailable("dashboard: cannot read " + it->path().string());
    const std::string relative = fs::relative(it->path(), options.root, ec).generic_string();
    assets->files_[relative] = File{content_type_of(it->path()), body.str()};
  }
  if (ec) return Unavailable("dashboard " + options.root + ": " + ec.message());
  if (!assets->files_.count("index.html")) {
    return InvalidArgument("dashboard " + options.root + " has no index.html");
  }
  spdlog::info("ingress: dashboard of {} files ({} bytes) from {}", assets->files_.size(), total,
               options.root);
  return assets;
}

bool DashboardAssets::handles(std::string_view path) {
  return path == "/" || path == "/ui" || path.rfind("/ui/", 0) == 0 ||
         path.rfind("/assets/", 0) == 0 || path == "/favicon.ico";
}

HttpResponse DashboardAssets::serve(const HttpRequest& request) const {
  if (request.method != "GET") {
    auto r = text(405, "the dashboard's files take GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/" || path == "/ui") {
    auto r = text(303, "see /ui/");
    r.headers.emplace_back("Location", "/ui/");
    return r;
  }
  if (files_.empty()) {
    return text(404,
                "this ingress has no dashboard: build web/ (scripts/build.sh, needs npm) "
                "or point --web-root at a built one (" +
                    root_ + ")");
  }
  // Pages are routed by the script; a deep link loads the same page.
  const bool page = path.rfind("/ui/", 0) == 0;
  // Browsers ask for /favicon.ico on every page (the login form's too).
  const std::string key = page                     ? "index.html"
                          : path == "/favicon.ico" ? "assets/favicon.svg"
                                                   : path.substr(1);
  auto it = files_.find(key);
  if (it == files_.end()) return text(404, "no dashboard file " + path.substr(0, 128));
  auto r = answer(200, it->second.content_type, it->second.body);
  // index.html names the hashed assets of this build: always asked again; the
  // assets never change under their names.
  r.headers.emplace_back("Cache-Control",
                         page ? "no-cache" : "public, max-age=31536000, immutable");
  return r;
}

}  // namespace cadre::ingress

#include "ingress/dashboard_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cadre::ingress {
namespace {

namespace fs = std::filesystem;
using serving::http::HttpRequest;
using serving::http::HttpResponse;

class DashboardAssetsTest : public ::testing::Test {
 protected:
  DashboardAssetsTest() {
    root_ = fs::temp_directory_path() /
            ("cadre-web-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "assets");
    write("index.html", "<!doctype html><script src=\"/assets/app-X1.js\"></script>");
    write("assets/app-X1.js", "console.log(1)");
    write("assets/app-X1.css", "body{}");
    write("assets/favicon.svg", "<svg/>");
  }
  ~DashboardAssetsTest() override { fs::remove_all(root_); }

  void write(const std::string& path, const std::string& body) {
    std::ofstream(root_ / path, std::ios::binary) << body;
  }

  static HttpResponse get(const DashboardAssets& assets, const std::string& target,
                          const std::string& method = "GET") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    return assets.serve(r);
  }

  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  fs::path root_;
};

TEST_F(DashboardAssetsTest, ServesEveryPageAsIndexAndEachAssetWithItsType) {
  auto assets = DashboardAssets::Create({root_.string()}).value();
  EXPECT_EQ(assets->files(), 4u);
  for (const char* page : {"/ui/", "/ui/jobs/fmnist", "/ui/experiments?x=1"}) {
    const auto r = get(*assets, page);
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("app-X1.js"), std::string::npos);
    EXPECT_EQ(header(r, "Cache-Control"), "no-cache") << "a new build's names are seen at once";
  }
  const auto js = get(*assets, "/assets/app-X1.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get(*assets, "/assets/app-X1.css").content_type, "text/css; charset=utf-8");
  const auto icon = get(*assets, "/favicon.ico");
  EXPECT_EQ(icon.status, 200);
  EXPECT_EQ(icon.content_type, "image/svg+xml");
  const auto root = get(*assets, "/");
  EXPECT_EQ(root.status, 303);
  EXPECT_EQ(header(root, "Location"), "/ui/");
}

TEST_F(DashboardAssetsTest, EveryAnswerForbidsInlineScriptAndFraming) {
  auto assets = DashboardAssets::Create({root_.string()}).value();
  for (const char* target : {"/ui/", "/assets/app-X1.js", "/assets/missing.js", "/"}) {
    const auto r = get(*assets, target);
    const std::string policy = header(r, "Content-Security-Policy");
    EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << target;
    EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << target;
    EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << target;
    EXPECT_EQ(header(r, "X-Frame-Options"), "DENY") << target;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << target;
  }
}

TEST_F(DashboardAssetsTest, NeverReadsAPathARequestNames) {
  auto assets = DashboardAssets::Create({root_.string()}).value();
  // Files appear after start-up, or outside the root: neither is served.
  write("assets/late.js", "late");
  for (const char* target :
       {"/assets/late.js", "/assets/../index.html", "/assets/%2e%2e/index.html",
        "/assets//etc/passwd", "/assets/../../../etc/passwd", "/assets/"}) {
    EXPECT_EQ(get(*assets, target).status, 404) << target;
  }
  EXPECT_EQ(get(*assets, "/assets/app-X1.js", "POST").status, 405);
  EXPECT_EQ(get(*assets, "/ui/", "DELETE").status, 405);
}

TEST_F(DashboardAssetsTest, BoundsWhatItLoadsAndRunsWithoutABuild) {
  EXPECT_FALSE(DashboardAssets::Create({root_.string(), 3}).ok()) << "four files, three allowed";
  EXPECT_FALSE(DashboardAssets::Create({root_.string(), 256, 10}).ok()) << "too many bytes";
  fs::remove(root_ / "index.html");
  EXPECT_FALSE(DashboardAssets::Create({root_.string()}).ok()) << "a build without its page";
  auto none = DashboardAssets::Create({(root_ / "absent").string()}).value();
  const auto r = get(*none, "/ui/");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no dashboard"), std::string::npos);
}

TEST(DashboardPaths, AreTheUiTheAssetsAndTheRootOnly) {
  for (const char* path : {"/", "/ui", "/ui/", "/ui/jobs", "/assets/app.js", "/favicon.ico"}) {
    EXPECT_TRUE(DashboardAssets::handles(path)) << path;
  }
  for (const char* path :
       {"/api/v1/jobs", "/v2/models/x/infer", "/notebook/a/b/", "/login", "/uix", "/metrics"}) {
    EXPECT_FALSE(DashboardAssets::handles(path)) << path;
  }
}

}  // namespace
}  // namespace cadre::ingress

#include "client/config.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace cadre::client {
namespace {
namespace fs = std::filesystem;

// A scratch folder with optional ./.cadre/config and ~/.cadre/config files.
class ConfigResolution : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(cwd() + "/.cadre");
    fs::create_directories(home() + "/.cadre");
  }
  std::string cwd() const { return (root_ / "cwd").string(); }
  std::string home() const { return (root_ / "home").string(); }
  std::string write(const std::string& path, const std::string& text = "insecure: true\n") {
    std::ofstream(path) << text;
    return path;
  }
  cadre::testing::TempDir scratch_{"cadre-config-test"};
  const fs::path root_ = scratch_.path();
};

TEST_F(ConfigResolution, PrefersTheFlagOverEverythingElse) {
  const auto flag = write(root_ / "flag.yaml");
  const auto env = write(root_ / "env.yaml");
  write(cwd() + "/.cadre/config");
  const auto path = resolve_config_path({flag, env, cwd(), home()});
  ASSERT_OK(path);
  EXPECT_EQ(*path, flag);
}

TEST_F(ConfigResolution, UsesTheEnvironmentWhenNoFlagIsGiven) {
  const auto env = write(root_ / "env.yaml");
  write(cwd() + "/.cadre/config");
  EXPECT_EQ(*resolve_config_path({"", env, cwd(), home()}), env);
}

TEST_F(ConfigResolution, UsesTheWorkingDirectoryBeforeHome) {
  const auto local = write(cwd() + "/.cadre/config");
  write(home() + "/.cadre/config");
  EXPECT_EQ(*resolve_config_path({"", "", cwd(), home()}), local);
}

TEST_F(ConfigResolution, FallsBackToHome) {
  const auto in_home = write(home() + "/.cadre/config");
  EXPECT_EQ(*resolve_config_path({"", "", cwd(), home()}), in_home);
}

TEST_F(ConfigResolution, NeverFallsBackWhenAnExplicitFileIsMissing) {
  write(cwd() + "/.cadre/config");
  const auto path = resolve_config_path({(root_ / "typo.yaml").string(), "", cwd(), home()});
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().message().find("typo.yaml"), std::string::npos);
  EXPECT_NE(path.status().message().find("--config"), std::string::npos);
}

TEST_F(ConfigResolution, TellsTheUserHowToGetAConfigWhenThereIsNone) {
  const auto path = resolve_config_path({"", "", cwd(), home()});
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), StatusCode::kNotFound);
  EXPECT_NE(path.status().message().find("cadre local up"), std::string::npos);
  EXPECT_NE(path.status().message().find("--config"), std::string::npos);
}

TEST(ParseConfig, ReadsEveryKeyAndResolvesKeyPathsAgainstTheConfigFolder) {
  const auto config = parse_config(
      "coordinator: tcp://10.0.0.1:7071\nserver_key: keys/server.pub\n"
      "key: /abs/client.key\ntimeout_seconds: 2.5\n",
      "/etc/cadre", "test");
  ASSERT_OK(config);
  EXPECT_EQ(config->coordinator, "tcp://10.0.0.1:7071");
  EXPECT_EQ(config->server_key, "/etc/cadre/keys/server.pub");
  EXPECT_EQ(config->key, "/abs/client.key");
  EXPECT_DOUBLE_EQ(config->timeout_seconds, 2.5);
  EXPECT_FALSE(config->insecure);
}

TEST(ParseConfig, DefaultsTheTimeoutToTenSeconds) {
  const auto config = parse_config("insecure: true\n", "", "test");
  ASSERT_OK(config);
  EXPECT_DOUBLE_EQ(config->timeout_seconds, 10);
  EXPECT_EQ(config->coordinator, "tcp://127.0.0.1:7071");
}

TEST(ParseConfig, RequiresKeysUnlessInsecure) {
  const auto config = parse_config("coordinator: tcp://h:1\n", "", "cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("server_key and key"), std::string::npos);
}

TEST(ParseConfig, RejectsUnknownSettingsByName) {
  const auto config = parse_config("insecure: true\ncoordinatr: x\n", "", "cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("coordinatr"), std::string::npos);
}

TEST(ParseConfig, RejectsWrongTypesAndBadTimeouts) {
  EXPECT_FALSE(parse_config("insecure: maybe\n", "", "cfg").ok());
  EXPECT_FALSE(parse_config("insecure: true\ntimeout_seconds: 0\n", "", "cfg").ok());
  EXPECT_FALSE(parse_config("[1, 2]\n", "", "cfg").ok());
  EXPECT_FALSE(parse_config("a: [\n", "", "cfg").ok());
}

TEST(RenderConfig, WritesWhatParseConfigReadsBack) {
  ClientConfig written;
  written.coordinator = "tcp://127.0.0.1:40001";
  written.server_key = "/x/keys/server.pub";
  written.key = "/x/keys/client.key";
  const auto read = parse_config(render_config(written), "/elsewhere", "rendered");
  ASSERT_OK(read);
  EXPECT_EQ(read->coordinator, written.coordinator);
  EXPECT_EQ(read->server_key, written.server_key);
  EXPECT_EQ(read->key, written.key);
  EXPECT_EQ(read->ingress_ca, "") << "none written, none read";
}

TEST(ParseConfig, ReadsTheIngressCaRelativeToTheConfigAndWritesItBack) {
  const auto read = parse_config(
      "insecure: true\ningress: https://h:8443\ningress_ca: keys/ingress-tls.crt\n", "/x", "cfg");
  ASSERT_OK(read);
  EXPECT_EQ(read->ingress_ca, "/x/keys/ingress-tls.crt");
  const auto again = parse_config(render_config(*read), "/elsewhere", "rendered");
  ASSERT_OK(again);
  EXPECT_EQ(again->ingress_ca, "/x/keys/ingress-tls.crt");
}

TEST(ParseConfig, ReadsTheIngressGrpcAddressAndWritesItBack) {
  const auto read = parse_config("insecure: true\ningress_grpc: 127.0.0.1:8081\n", "/x", "cfg");
  ASSERT_OK(read);
  EXPECT_EQ(read->ingress_grpc, "127.0.0.1:8081");
  const auto again = parse_config(render_config(*read), "/elsewhere", "rendered");
  ASSERT_OK(again);
  EXPECT_EQ(again->ingress_grpc, "127.0.0.1:8081");
}

}  // namespace
}  // namespace cadre::client

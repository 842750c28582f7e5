#include "protocol/config_file.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/support/status_matchers.h"

namespace cadre::config::config_file_test {
namespace {

struct Settings {
  std::string config;
  int port = 7070;
  bool insecure = false;
  std::vector<std::string> labels;
};

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    app.add_option("--config", s.config, "settings file");
    app.add_option("--port", s.port, "a port")->capture_default_str();
    app.add_flag("--insecure", s.insecure, "no keys");
    app.add_option("--label,--labels", s.labels, "k=v, repeatable");
  }
  // ctest runs each test as its own process, two at a time: the pid keeps their
  // files apart (they once shared config_file_test_1.yaml and read each other's).
  std::string write(const std::string& yaml) {
    const std::string path = ::testing::TempDir() + "/config_file_test_" +
                             std::to_string(::getpid()) + "_" + std::to_string(++files) + ".yaml";
    std::ofstream(path) << yaml;
    return path;
  }
  Result<Parsed> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "daemon");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return parse_command_line(app, static_cast<int>(argv.size()), argv.data(), help);
  }
  std::string error_of(const std::string& yaml) {
    auto parsed = parse({"--config", write(yaml)});
    return parsed.ok() ? "" : parsed.status().message();
  }

  CLI::App app{"daemon"};
  Settings s;
  std::ostringstream help;
  int files = 0;
};

TEST_F(ConfigFile, KeysAreTheFlagsWithoutDashesAndTheCommandLineWins) {
  const std::string path = write("port: 9000\ninsecure: true\nlabels: {zone: a, disk: ssd}\n");
  ASSERT_OK(parse({"--config", path, "--port", "9100", "--label", "rack=r1"}));
  EXPECT_EQ(s.port, 9100);
  EXPECT_TRUE(s.insecure);
  EXPECT_EQ(s.labels, (std::vector<std::string>{"zone=a", "disk=ssd", "rack=r1"}));
}

TEST_F(ConfigFile, ListsFillRepeatableSettingsAndFalseLeavesAFlagOff) {
  ASSERT_OK(parse({"--config", write("labels: [a=1, b=2]\ninsecure: false\n")}));
  EXPECT_EQ(s.labels, (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_FALSE(s.insecure);
}

TEST_F(ConfigFile, EmptyFileChangesNothing) {
  ASSERT_OK(parse({"--config", write("")}));
  EXPECT_EQ(s.port, 7070);
}

TEST_F(ConfigFile, EveryMalformedFileIsAnErrorNamingTheKey) {
  EXPECT_NE(error_of("prot: 1\n").find("prot: unknown setting"), std::string::npos);
  EXPECT_NE(error_of("port: [1, 2]\n").find("port: expected a single value"), std::string::npos);
  EXPECT_NE(error_of("port: {a: 1}\n").find("port: expected a single value"), std::string::npos);
  EXPECT_NE(error_of("insecure: maybe\n").find("insecure: expected true or false"),
            std::string::npos);
  // Once an abort of cadre-agent (exit 134): a list inside the labels map.
  EXPECT_NE(error_of("labels: {gpu: [a, b]}\n").find("labels.gpu: expected a single value"),
            std::string::npos)
      << error_of("labels: {gpu: [a, b]}\n");
  EXPECT_NE(error_of("labels: [[a]]\n").find("labels[0]: expected a single value"),
            std::string::npos);
  EXPECT_NE(error_of("[1, 2]\n").find("expected a map of settings"), std::string::npos);
  EXPECT_NE(error_of("port: 1\n  bad: indent\n").find("--config"), std::string::npos);
  EXPECT_NE(error_of("config: other.yaml\n").find("cannot name another"), std::string::npos);
  EXPECT_NE(error_of("port: notanumber\n").find("port"), std::string::npos);
}

TEST_F(ConfigFile, MissingFileIsAnErrorNamingIt) {
  auto parsed = parse({"--config", "/nonexistent/cadre.yaml"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("/nonexistent/cadre.yaml"), std::string::npos);
}

TEST_F(ConfigFile, HelpIsShownAndNothingRuns) {
  auto parsed = parse({"--help"});
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, Parsed::kHelpShown);
  EXPECT_NE(help.str().find("--port"), std::string::npos);
}

}  // namespace
}  // namespace cadre::config::config_file_test

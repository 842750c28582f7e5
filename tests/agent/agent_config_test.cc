#include "agent/agent_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace cadre::agent {
namespace {

ParsedCommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "cadre-agent");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return parse_agent_command_line(static_cast<int>(argv.size()), argv.data());
}

TEST(AgentConfig, HasTheDocumentedDefaults) {
  auto parsed = parse({"--insecure"});
  ASSERT_TRUE(parsed.config.has_value());
  const AgentConfig& c = *parsed.config;
  EXPECT_EQ(c.coordinator, "tcp://127.0.0.1:7070");
  EXPECT_EQ(c.work_dir, "/var/lib/cadre-agent");
  EXPECT_FALSE(c.resources.gpus.has_value());  // auto
  EXPECT_FALSE(c.resources.cpu_millis.has_value());
  // The short hostname, as a DNS label; the address keeps the full hostname.
  EXPECT_FALSE(c.name.empty());
  EXPECT_EQ(c.name.find('.'), std::string::npos);
  EXPECT_FALSE(c.address.empty());
  EXPECT_EQ(c.log_level, "info");
}

TEST(AgentConfig, ResolvesQuantitiesAndLabels) {
  auto parsed = parse({"--insecure", "--cpus", "1.5", "--memory", "2Gi", "--gpus", "2", "--label",
                       "zone=a", "--label", "disk=ssd", "--name", "n1"});
  ASSERT_TRUE(parsed.config.has_value());
  EXPECT_EQ(*parsed.config->resources.cpu_millis, 1500);
  EXPECT_EQ(*parsed.config->resources.memory_bytes, 2ll << 30);
  EXPECT_EQ(*parsed.config->resources.gpus, 2);
  EXPECT_EQ(parsed.config->labels.at("zone"), "a");
  EXPECT_EQ(parsed.config->labels.at("disk"), "ssd");
  EXPECT_EQ(parsed.config->name, "n1");
}

TEST(AgentConfig, NamesItsReplicaGroupsAfterItsWorkDirSoAgentsSharingAHostNeverMeet) {
  auto parent = [](const std::string& work_dir) {
    auto parsed = parse({"--insecure", "--work-dir", work_dir});
    EXPECT_TRUE(parsed.config.has_value()) << work_dir;
    return parsed.config ? parsed.config->sandbox.cgroup_parent : std::string();
  };
  const std::string one = parent("/tmp/cluster-a/agents/agent-1");
  EXPECT_EQ(one.rfind("cadre-replicas-", 0), 0u) << one;
  EXPECT_EQ(one, parent("/tmp/cluster-a/agents/./agent-1"));  // the same folder: found again
  EXPECT_NE(one, parent("/tmp/cluster-a/agents/agent-2"));
  EXPECT_NE(one, parent("/tmp/cluster-b/agents/agent-1"));
}

TEST(AgentConfig, RejectsABadValueWithExitCodeTwo) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--insecure", "--cpus", "lots"},
                                             {"--insecure", "--memory", "-3"},
                                             {"--insecure", "--gpus", "x"},
                                             {"--insecure", "--label", "novalue"},
                                             {"--insecure", "--max-message-bytes", "0"},
                                             {"--insecure", "--coordinator", "localhost:7070"},
                                             {"--no-such-flag"}}) {
    auto parsed = parse(args);
    EXPECT_FALSE(parsed.config.has_value()) << args.back();
    EXPECT_EQ(parsed.exit_code, 2) << args.back();
  }
}

TEST(AgentConfig, ParsesThePortRangeAndDefaultsTo30000Through32767) {
  auto parsed = parse({"--insecure"});
  ASSERT_TRUE(parsed.config.has_value());
  EXPECT_EQ(parsed.config->port_min, 30000);
  EXPECT_EQ(parsed.config->port_max, 32767);
  parsed = parse({"--insecure", "--port-range", "31200-31399"});
  ASSERT_TRUE(parsed.config.has_value());
  EXPECT_EQ(parsed.config->port_min, 31200);
  EXPECT_EQ(parsed.config->port_max, 31399);
  parsed = parse({"--insecure", "--port-range", "1024-1024"});  // one port is a range
  ASSERT_TRUE(parsed.config.has_value());
  EXPECT_EQ(parsed.config->port_min, 1024);
  EXPECT_EQ(parsed.config->port_max, 1024);
  parsed = parse({"--insecure", "--port-range", "60000-65535"});
  ASSERT_TRUE(parsed.config.has_value());
  EXPECT_EQ(parsed.config->port_max, 65535);
}

TEST(AgentConfig, RejectsAPortRangeThatIsReversedPrivilegedOrNotMinDashMax) {
  for (const std::string bad :
       {"80-90", "1023-2000", "32000-31000", "30000-65536", "30000", "30000-", "a-b",
        "30000-31000-32000", "3e4-31000", "000030000-31000"}) {
    testing::internal::CaptureStderr();
    auto parsed = parse({"--insecure", "--port-range", bad});
    const std::string error = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(parsed.config.has_value()) << "'" << bad << "'";
    EXPECT_EQ(parsed.exit_code, 2) << "'" << bad << "'";
    EXPECT_NE(error.find("--port-range: invalid value '" + bad + "'"), std::string::npos) << error;
  }
}

TEST(AgentConfig, RequiresKeyFilesUnlessInsecure) {
  auto parsed = parse({});
  EXPECT_FALSE(parsed.config.has_value());
  EXPECT_EQ(parsed.exit_code, 2);
  parsed = parse({"--key", "/nonexistent/agent.key", "--server-key", "/nonexistent/c.pub"});
  EXPECT_EQ(parsed.exit_code, 2);
}

TEST(AgentConfig, ReadsAYamlFileThatFlagsOverride) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("agent-config-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << "insecure: true\nname: from-file\ncpus: 3\n"
                         "labels:\n  zone: a\n  rack: r1\n";
  auto parsed = parse({"--config", file.string(), "--name", "from-flag", "--label", "zone=b"});
  std::filesystem::remove(file);
  ASSERT_TRUE(parsed.config.has_value());
  EXPECT_TRUE(parsed.config->insecure);
  EXPECT_EQ(parsed.config->name, "from-flag");
  EXPECT_EQ(*parsed.config->resources.cpu_millis, 3000);
  EXPECT_EQ(parsed.config->labels.at("zone"), "b");
  EXPECT_EQ(parsed.config->labels.at("rack"), "r1");
}

TEST(AgentConfig, RejectsAnUnknownKeyInTheYamlFile) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("agent-config-bad-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << "insecure: true\ncpu: 3\n";
  auto parsed = parse({"--config", file.string()});
  std::filesystem::remove(file);
  EXPECT_FALSE(parsed.config.has_value());
  EXPECT_EQ(parsed.exit_code, 2);
}

TEST(AgentConfig, HelpExitsWithZero) {
  testing::internal::CaptureStdout();
  auto parsed = parse({"--help"});
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(parsed.config.has_value());
  EXPECT_EQ(parsed.exit_code, 0);
  EXPECT_NE(help.find("--work-dir"), std::string::npos);
  EXPECT_NE(help.find("/var/lib/cadre-agent"), std::string::npos);
}

}  // namespace
}  // namespace cadre::agent

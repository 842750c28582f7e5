#include "coordinator/coordinator_config.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <vector>

namespace cadre::coordinator {
namespace {

Result<CoordinatorConfig> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "cadre-coordinator");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  bool exit_now = false;
  return parse_coordinator_config(static_cast<int>(argv.size()), argv.data(), &exit_now);
}

// ctest runs each test as its own process, two at a time: the pid keeps their files apart.
std::string write_yaml(const std::string& text) {
  const std::string path =
      ::testing::TempDir() + "/coordinator_config_test_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(CoordinatorConfig, DefaultsMatchTheDesign) {
  auto config = parse({});
  ASSERT_OK(config);
  EXPECT_EQ(config->bind_address, "127.0.0.1");
  EXPECT_EQ(config->agent_port, 7070);
  EXPECT_EQ(config->client_port, 7071);
  EXPECT_EQ(config->heartbeat_interval_ms, 1000);
  EXPECT_EQ(config->not_ready_after_ms, 5000);
  EXPECT_EQ(config->lost_after_ms, 15000);
  EXPECT_EQ(config->max_message_bytes, 64ll << 20);
  EXPECT_EQ(config->request_timeout_ms, 10000);
  EXPECT_FALSE(config->insecure);
}

TEST(CoordinatorConfig, RequestTimeoutReachesTheActorsPolicy) {
  auto config = parse({"--config", write_yaml("request-timeout-ms: 250\n")});
  ASSERT_OK(config);
  EXPECT_EQ(config->policy().request_timeout, std::chrono::milliseconds(250));
  EXPECT_FALSE(parse({"--request-timeout-ms", "0"}).ok());
}

TEST(CoordinatorConfig, QueueQuotasComeFromFlagsOrAListInTheFileAndReachThePolicy) {
  auto config = parse({"--queue-quota", "research:gpu=4,cpu=16", "--queue-quota", "ci:cpu=2"});
  ASSERT_OK(config);
  const auto quotas = config->policy().queue_quotas;
  ASSERT_EQ(quotas.size(), 2u);
  EXPECT_EQ(quotas.at("research").gpus, 4);
  EXPECT_EQ(quotas.at("research").cpu_millis, 16000);
  EXPECT_EQ(quotas.at("ci").cpu_millis, 2000);
  auto from_file = parse({"--config", write_yaml("queue-quota: ['team-a:memory=8Gi']\n")});
  ASSERT_OK(from_file);
  EXPECT_EQ(from_file->policy().queue_quotas.at("team-a").memory_bytes, 8ll << 30);

  auto twice = parse({"--queue-quota", "ci:cpu=2", "--queue-quota", "ci:cpu=3"});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "queue-quota: queue ci is given twice");
  auto bad = parse({"--queue-quota", "ci:disks=2"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "queue-quota 'ci:disks=2': 'disks' is not one of cpu, memory, gpu, cohort, "
            "borrow-cpu, borrow-memory, borrow-gpu, reclaim");

  std::vector<std::string> many;
  for (int i = 0; i <= 1000; ++i) {
    many.push_back("--queue-quota");
    many.push_back("q" + std::to_string(i) + ":gpu=1");
  }
  auto too_many = parse(many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().message(), "queue-quota: 1001 queues; at most 1000");

  auto cohort = parse({"--queue-quota", "a:gpu=4,cohort=lab,reclaim=Any", "--queue-quota",
                       "b:gpu=4,cohort=lab,borrow-gpu=2"});
  ASSERT_OK(cohort);
  EXPECT_EQ(cohort->policy().queue_quotas.at("a").reclaim, actors::ReclaimPolicy::kAny);
  EXPECT_EQ(cohort->policy().queue_quotas.at("b").borrowing_limit.gpus, 2);
}

TEST(CoordinatorConfig, FileSetsValuesAndExplicitFlagsWin) {
  const auto file = write_yaml("agent-port: 9000\nclient-port: 9001\nlost-after-ms: 20000\n");
  auto config = parse({"--config", file, "--client-port", "9100"});
  ASSERT_OK(config);
  EXPECT_EQ(config->agent_port, 9000);
  EXPECT_EQ(config->client_port, 9100);
  EXPECT_EQ(config->lost_after_ms, 20000);
}

TEST(CoordinatorConfig, UnknownFileKeyIsNamed) {
  auto config = parse({"--config", write_yaml("agent-prot: 1\n")});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("agent-prot: unknown setting"), std::string::npos)
      << config.status().message();
}

TEST(CoordinatorConfig, InconsistentTimeoutsAreRefusedWithTheSetting) {
  auto config = parse({"--not-ready-after-ms", "20000"});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind("lost-after-ms:", 0), 0u) << config.status().message();
  EXPECT_FALSE(parse({"--agent-port", "70000"}).ok());
  EXPECT_FALSE(parse({"--log-level", "loud"}).ok());
  EXPECT_FALSE(parse({"--agent-port", "seven"}).ok());
}

}  // namespace
}  // namespace cadre::coordinator

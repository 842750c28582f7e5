// What the agent's /metrics reads: a replica's cgroup accounting (v2 and v1), its
// process group from /proc without one, nvidia-smi's answer, and the exposition.
#include "agent/agent_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/gpu_stats.h"
#include "agent/replica_usage.h"
#include "tests/support/temp_dir.h"

namespace cadre::agent {
namespace {

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(ReplicaUsage, ReadsAV2CgroupsCpuMemoryAndProcesses) {
  testing::TempDir dir;
  const std::string group = dir.file("replicas/r1");
  write(group + "/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
  write(group + "/memory.current", "104857600\n");
  write(group + "/cgroup.procs", "10\n11\n12\n");
  auto usage = cgroup_usage(CgroupVersion::kV2, {group});
  ASSERT_TRUE(usage.ok()) << usage.status().message();
  EXPECT_DOUBLE_EQ(usage->cpu_seconds, 2.5);
  EXPECT_EQ(usage->memory_bytes, 104857600);
  EXPECT_EQ(usage->processes, 3);
}

TEST(ReplicaUsage, ReadsV1ControllersFromTheirOwnFolders) {
  testing::TempDir dir;
  write(dir.file("memory/r1/memory.usage_in_bytes"), "4096\n");
  write(dir.file("memory/r1/cgroup.procs"), "7\n");
  write(dir.file("cpu/r1/cpuacct.usage"), "1500000000\n");
  auto usage = cgroup_usage(CgroupVersion::kV1,
                            {dir.file("memory/r1"), dir.file("pids/r1"), dir.file("cpu/r1")});
  ASSERT_TRUE(usage.ok()) << usage.status().message();
  EXPECT_DOUBLE_EQ(usage->cpu_seconds, 1.5);
  EXPECT_EQ(usage->memory_bytes, 4096);
  EXPECT_EQ(usage->processes, 1);
}

TEST(ReplicaUsage, AGroupWithoutAccountingOrWithGarbageIsNotFound) {
  testing::TempDir dir;
  write(dir.file("cpu/r1/cpu.shares"), "1024\n");  // a v1 cpu controller without cpuacct
  write(dir.file("memory/r1/memory.usage_in_bytes"), "4096\n");
  EXPECT_EQ(
      cgroup_usage(CgroupVersion::kV1, {dir.file("memory/r1"), dir.file("cpu/r1")}).status().code(),
      StatusCode::kNotFound);
  write(dir.file("v2/cpu.stat"), "usage_usec lots\n");
  write(dir.file("v2/memory.current"), "-\n");
  EXPECT_FALSE(cgroup_usage(CgroupVersion::kV2, {dir.file("v2")}).ok());
  EXPECT_FALSE(cgroup_usage(CgroupVersion::kV2, {dir.file("missing")}).ok());
}

TEST(ProcStat, ReadsTheFieldsAfterACommandNameWithSpacesAndParentheses) {
  const std::string line =
      "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 3 4 20 0 1 0 "
      "12345 1000000 256 18446744073709551615";
  auto stat = parse_proc_stat(line);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->pgrp, 4242);
  EXPECT_EQ(stat->cpu_ticks, 200u);
  EXPECT_EQ(stat->rss_pages, 256);
  EXPECT_FALSE(parse_proc_stat("4242 (short) S 1 2").has_value());
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all").has_value());
  EXPECT_FALSE(parse_proc_stat(std::string(5000, ')')).has_value());
}

TEST(ProcStat, SumsTheProcessesOfAGroupFromAProcTree) {
  testing::TempDir dir;
  const auto stat = [&](int pid, int pgrp, int utime, int rss) {
    write(dir.file(std::to_string(pid) + "/stat"),
          std::to_string(pid) + " (p) S 1 " + std::to_string(pgrp) + " 0 0 -1 0 0 0 0 0 " +
              std::to_string(utime) + " 0 0 0 20 0 1 0 1 4096 " + std::to_string(rss) + "\n");
  };
  stat(100, 100, 100, 10);
  stat(101, 100, 50, 5);
  stat(200, 200, 7, 1);  // another group
  write(dir.file("self/stat"), "not a pid folder");
  const auto usage = process_group_usage({100, 300}, dir.path().string());
  ASSERT_EQ(usage.count(100), 1u);
  EXPECT_EQ(usage.count(200), 0u) << "not asked for";
  EXPECT_EQ(usage.count(300), 0u) << "no such group";
  EXPECT_EQ(usage.at(100).processes, 2);
  EXPECT_DOUBLE_EQ(usage.at(100).cpu_seconds, 150.0 / static_cast<double>(sysconf(_SC_CLK_TCK)));
  EXPECT_EQ(usage.at(100).memory_bytes, 15 * sysconf(_SC_PAGESIZE));
}

TEST(GpuStats, ReadsNvidiaSmisCsvAndCountsWhatItCannotReadAsZero) {
  auto gpus = parse_gpu_stats(
      "0, NVIDIA H200, 87, 40960, 143771\n"
      "1, NVIDIA H200, [N/A], [Not Supported], 143771\n\n");
  ASSERT_TRUE(gpus.ok()) << gpus.status().message();
  ASSERT_EQ(gpus->size(), 2u);
  EXPECT_EQ((*gpus)[0].name, "NVIDIA H200");
  EXPECT_DOUBLE_EQ((*gpus)[0].utilization_percent, 87);
  EXPECT_EQ((*gpus)[0].memory_used_bytes, int64_t{40960} << 20);
  EXPECT_EQ((*gpus)[1].index, 1);
  EXPECT_EQ((*gpus)[1].utilization_percent, 0);
  EXPECT_EQ((*gpus)[1].memory_used_bytes, 0);
  auto absurd = parse_gpu_stats("0, a, 250, 409e60, inf\n");
  ASSERT_TRUE(absurd.ok());
  EXPECT_EQ((*absurd)[0].utilization_percent, 0) << "over 100%";
  EXPECT_EQ((*absurd)[0].memory_used_bytes, 0) << "past a pebibyte: not a real figure";
  EXPECT_EQ((*absurd)[0].memory_total_bytes, 0);
  EXPECT_FALSE(parse_gpu_stats("0, a, 1, 2\n").ok()) << "four fields";
  EXPECT_FALSE(parse_gpu_stats("x, a, 1, 2, 3\n").ok()) << "no index";
  EXPECT_FALSE(parse_gpu_stats(std::string(600, 'a') + "\n").ok()) << "a line too long";
  std::string many;
  for (int i = 0; i < 65; ++i) many += std::to_string(i) + ", g, 1, 1, 1\n";
  EXPECT_FALSE(parse_gpu_stats(many).ok()) << "more than 64 GPUs";
}

TEST(GpuStats, AMissingNvidiaSmiIsNoGpusAndNoFailureAndAHangingOneIsCutShort) {
  GpuStatsReader missing(
      {"/nonexistent/nvidia-smi", std::chrono::seconds(1), std::chrono::milliseconds(0)});
  EXPECT_TRUE(missing.read().empty());
  EXPECT_EQ(missing.failures(), 0u);
  testing::TempDir dir;
  const std::string hang = dir.file("nvidia-smi");
  write(hang, "#!/bin/sh\nsleep 30\n");
  std::filesystem::permissions(hang, std::filesystem::perms::owner_all);
  GpuStatsReader hanging({hang, std::chrono::seconds(1), std::chrono::milliseconds(0)});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(hanging.read().empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(hanging.failures(), 1u);
}

TEST(GpuStats, AnAnswerIsKeptForItsCacheInterval) {
  testing::TempDir dir;
  const std::string smi = dir.file("nvidia-smi");
  const std::string count = dir.file("count");
  write(smi, "#!/bin/sh\necho x >> " + count + "\necho '0, Fake GPU, 50, 1, 2'\n");
  std::filesystem::permissions(smi, std::filesystem::perms::owner_all);
  GpuStatsReader reader({smi, std::chrono::seconds(5), std::chrono::milliseconds(60000)});
  EXPECT_EQ(reader.read().size(), 1u);
  EXPECT_EQ(reader.read().at(0).name, "Fake GPU");
  std::ifstream in(count);
  std::string lines((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(lines, "x\n") << "one nvidia-smi for two reads";
}

TEST(AgentMetrics, RendersEachPublishedReplicasUsageWithItsNames) {
  testing::TempDir dir;
  write(dir.file("g/cpu.stat"), "usage_usec 1000000\n");
  write(dir.file("g/memory.current"), "2048\n");
  AgentMetricsOptions options;
  options.node = "gpu-1";
  options.cgroups = CgroupVersion::kV2;
  options.gpus.nvidia_smi = "/nonexistent/nvidia-smi";
  AgentMetrics metrics(options);
  // One replica with a cgroup, and this test process as one without (its own group).
  metrics.publish({{"u1", "fmnist", "team-a", "worker-0", 1, {dir.file("g")}},
                   {"u2", "tune\"x", "team-a", "main-0", ::getpgrp(), {}}});
  const std::string text = metrics.render();
  EXPECT_NE(text.find("cadre_agent_info{node=\"gpu-1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("cadre_agent_replicas 2"), std::string::npos) << text;
  EXPECT_NE(text.find("cadre_agent_replica_memory_bytes{namespace=\"team-a\",job_name=\"fmnist\","
                      "replica=\"worker-0\",uid=\"u1\"} 2048"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cadre_agent_replica_cpu_seconds_total{namespace=\"team-a\",job_name="
                      "\"fmnist\",replica=\"worker-0\",uid=\"u1\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("job_name=\"tune\\\"x\",replica=\"main-0\",uid=\"u2\"}"), std::string::npos)
      << "read from /proc, its name escaped: " << text;
  EXPECT_NE(text.find("cadre_agent_gpu_query_failures_total 0"), std::string::npos) << text;
  metrics.publish({});
  EXPECT_NE(metrics.render().find("cadre_agent_replicas 0"), std::string::npos);
}

}  // namespace
}  // namespace cadre::agent

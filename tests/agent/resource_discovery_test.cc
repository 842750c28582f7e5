#include "agent/resource_discovery.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cadre::agent {
namespace {

TEST(ParseCpuQuantity, AcceptsWholeAndFractionalCores) {
  EXPECT_EQ(*parse_cpu_quantity("2"), 2000);
  EXPECT_EQ(*parse_cpu_quantity("0.5"), 500);
  EXPECT_EQ(*parse_cpu_quantity("1.25"), 1250);
}

TEST(ParseCpuQuantity, RejectsZeroNegativeAndJunk) {
  for (const char* bad : {"0", "-1", "abc", "", "1.2.3", "0.0001", "2m"}) {
    EXPECT_FALSE(parse_cpu_quantity(bad).ok()) << bad;
  }
}

TEST(ParseMemoryQuantity, AcceptsBytesAndKubernetesSuffixes) {
  EXPECT_EQ(*parse_memory_quantity("1048576"), 1048576);
  EXPECT_EQ(*parse_memory_quantity("512Mi"), 512ll << 20);
  EXPECT_EQ(*parse_memory_quantity("4Gi"), 4ll << 30);
  EXPECT_EQ(*parse_memory_quantity("1.5Gi"), 3ll << 29);
  EXPECT_EQ(*parse_memory_quantity("2Ki"), 2048);
  EXPECT_EQ(*parse_memory_quantity("1G"), 1000000000);
}

TEST(ParseMemoryQuantity, RejectsZeroNegativeAndUnknownSuffixes) {
  for (const char* bad : {"0", "-1Gi", "12Xi", "Gi", "", "1e9", "4 Gi"}) {
    EXPECT_FALSE(parse_memory_quantity(bad).ok()) << bad;
  }
}

TEST(ParseGpuCount, AcceptsAutoOrAWholeNumber) {
  EXPECT_FALSE(parse_gpu_count("auto")->has_value());
  EXPECT_EQ(parse_gpu_count("0")->value(), 0);
  EXPECT_EQ(parse_gpu_count("8")->value(), 8);
  for (const char* bad : {"-1", "1.5", "many", "", "65"}) {
    EXPECT_FALSE(parse_gpu_count(bad).ok()) << bad;
  }
}

TEST(DiscoverResources, FindsCpusAndMemoryOfThisMachine) {
  auto found = discover_resources(ResourceRequest{std::nullopt, std::nullopt, 0, ""});
  ASSERT_OK(found);
  EXPECT_GE(found->cpu_millis, 1000);
  EXPECT_GT(found->memory_bytes, 0);
  EXPECT_EQ(found->gpus, 0);
}

TEST(DiscoverResources, UsesTheGivenValuesOverDiscovery) {
  auto given = discover_resources(ResourceRequest{1500, 1 << 30, 2, ""});
  ASSERT_OK(given);
  EXPECT_EQ(given->cpu_millis, 1500);
  EXPECT_EQ(given->memory_bytes, 1 << 30);
  EXPECT_EQ(given->gpus, 2);
}

TEST(DetectGpuModels, FindsNoGpusWhenNvidiaSmiIsMissing) {
  EXPECT_TRUE(detect_gpu_models("/nonexistent/nvidia-smi").empty());
}

TEST(DetectGpuModels, ReadsOneModelPerLineOfNvidiaSmi) {
  const auto script =
      std::filesystem::temp_directory_path() / ("fake-nvidia-smi-" + std::to_string(::getpid()));
  std::ofstream(script)
      << "#!/bin/sh\necho 'NVIDIA H100 80GB HBM3'\necho 'NVIDIA H100 80GB HBM3'\n";
  ::chmod(script.c_str(), 0755);
  const auto models = detect_gpu_models(script.string());
  std::filesystem::remove(script);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0], "NVIDIA H100 80GB HBM3");
}

TEST(DetectGpuModels, FindsNoGpusWhenNvidiaSmiFails) {
  const auto script =
      std::filesystem::temp_directory_path() / ("failing-nvidia-smi-" + std::to_string(::getpid()));
  std::ofstream(script) << "#!/bin/sh\necho 'NVIDIA-SMI has failed'\nexit 9\n";
  ::chmod(script.c_str(), 0755);
  const auto models = detect_gpu_models(script.string());
  std::filesystem::remove(script);
  EXPECT_TRUE(models.empty());
}

}  // namespace
}  // namespace cadre::agent

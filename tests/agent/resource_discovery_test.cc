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
  EXPECT_EQ(given->gpu_minors, (std::vector<int32_t>{0, 1})) << "given GPUs are /dev/nvidia0..N-1";
}

TEST(DetectGpus, FindsNoGpusWhenNvidiaSmiIsMissing) {
  EXPECT_TRUE(detect_gpus("/nonexistent/nvidia-smi").models.empty());
}

// A fake nvidia-smi printing `lines` for any query.
class FakeNvidiaSmi {
 public:
  FakeNvidiaSmi(const std::string& lines, int exit_code = 0)
      : path_(std::filesystem::temp_directory_path() /
              ("fake-nvidia-smi-" + std::to_string(::getpid()))) {
    std::ofstream(path_) << "#!/bin/sh\nprintf '" << lines << "'\nexit " << exit_code << "\n";
    ::chmod(path_.c_str(), 0755);
  }
  ~FakeNvidiaSmi() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(DetectGpus, ReadsEachGpusMinorAndModelInIndexOrder) {
  FakeNvidiaSmi smi("1, NVIDIA H100 80GB HBM3\n0, NVIDIA H100 80GB HBM3\n");
  const GpuDevices gpus = detect_gpus(smi.path());
  ASSERT_EQ(gpus.models.size(), 2u);
  EXPECT_EQ(gpus.models[0], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpus.minors, (std::vector<int32_t>{1, 0})) << "index 0 is /dev/nvidia1 here";
}

TEST(DetectGpus, KeepsCommasInAModelNameAndTakesAnUnknownMinorToBeTheIndex) {
  FakeNvidiaSmi smi("[N/A], Tesla, rev B\n3, Tesla, rev B\n");
  const GpuDevices gpus = detect_gpus(smi.path());
  ASSERT_EQ(gpus.models.size(), 2u);
  EXPECT_EQ(gpus.models[0], "Tesla, rev B");
  EXPECT_EQ(gpus.minors, (std::vector<int32_t>{0, 3}));
}

TEST(DetectGpus, FindsNoGpusWhenNvidiaSmiFails) {
  FakeNvidiaSmi smi("NVIDIA-SMI has failed\n", 9);
  const GpuDevices gpus = detect_gpus(smi.path());
  EXPECT_TRUE(gpus.models.empty());
  EXPECT_TRUE(gpus.minors.empty());
}

}  // namespace
}  // namespace cadre::agent

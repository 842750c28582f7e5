// The BPF device program on a real kernel: a unified-hierarchy group of its own
// (cgroup2 mounted in a temporary folder, which works beside v1 hierarchies too), a
// child that joins it, and device files of NVIDIA's major. Needs root (mount, BPF);
// skips, saying why, where the kernel or the process cannot.
#include "agent/gpu_device_filter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/status_matchers.h"

namespace cadre::agent {
namespace {

namespace fs = std::filesystem;

class GpuDeviceFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount cgroup2 and load BPF";
    const Status probe = probe_gpu_device_filter();
    if (!probe.ok()) GTEST_SKIP() << probe.message();
    root_ = fs::temp_directory_path() /
            ("cadre-device-filter-" + std::to_string(::getpid()) + "-" + test_name());
    fs::create_directories(root_ / "unified");
    if (::mount("none", (root_ / "unified").c_str(), "cgroup2", 0, nullptr) != 0) {
      GTEST_SKIP() << "cannot mount cgroup2: " << std::strerror(errno);
    }
    mounted_ = true;
    group_ = root_ / "unified" / ("cadre-device-filter-" + std::to_string(::getpid()));
    ASSERT_TRUE(fs::create_directory(group_)) << group_;
    for (int minor : {0, 1, 2}) make_device("nvidia" + std::to_string(minor), 195, minor);
    make_device("major-196", 196, 0);  // the next major: not a GPU
  }
  void TearDown() override {
    if (!group_.empty()) ::rmdir(group_.c_str());
    if (mounted_) ::umount((root_ / "unified").c_str());
    if (!root_.empty()) fs::remove_all(root_);
  }

  static std::string test_name() {
    return ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void make_device(const std::string& name, int major, int minor) {
    const std::string path = (root_ / name).string();
    ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0666, makedev(major, minor)), 0) << path;
  }

  // The errno of opening each file from a child in the group (0: it opened).
  std::vector<int> open_in_group(const std::vector<std::string>& names) {
    int pipe_fds[2];
    EXPECT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(pipe_fds[0]);
      const std::string procs = (group_ / "cgroup.procs").string();
      const int join = ::open(procs.c_str(), O_WRONLY);
      if (join < 0 || ::write(join, "0", 1) != 1) ::_exit(3);
      ::close(join);
      for (const auto& name : names) {
        const fs::path path = name[0] == '/' ? fs::path(name) : root_ / name;
        const int fd = ::open(path.c_str(), O_RDONLY);
        const int result = fd >= 0 ? 0 : errno;
        if (fd >= 0) ::close(fd);
        if (::write(pipe_fds[1], &result, sizeof(result)) != sizeof(result)) ::_exit(4);
      }
      ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::vector<int> results(names.size(), -1);
    for (int& result : results) {
      if (::read(pipe_fds[0], &result, sizeof(result)) != sizeof(result)) break;
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could not join";
    return results;
  }

  fs::path root_, group_;
  bool mounted_ = false;
};

TEST_F(GpuDeviceFilterTest, DeniesExactlyTheGpusItNamesAndAllowsEveryOtherDevice) {
  // Without a driver an allowed open reaches it and fails ENXIO; a denied one is
  // refused EPERM first.
  EXPECT_EQ(open_in_group({"nvidia0", "nvidia1", "nvidia2"}),
            (std::vector<int>{ENXIO, ENXIO, ENXIO}))
      << "nothing is denied before the program is attached";
  ASSERT_OK(attach_gpu_device_filter(group_.string(), {0, 2}));
  EXPECT_EQ(open_in_group({"nvidia0", "nvidia1", "nvidia2", "major-196", "/dev/null"}),
            (std::vector<int>{EPERM, ENXIO, EPERM, ENXIO, 0}));
}

TEST_F(GpuDeviceFilterTest, ASingleDeniedGpuAndAnEmptyListWork) {
  ASSERT_OK(attach_gpu_device_filter(group_.string(), {}));
  EXPECT_EQ(open_in_group({"nvidia0"}), (std::vector<int>{ENXIO})) << "an empty list denies none";
  ASSERT_OK(attach_gpu_device_filter(group_.string(), {1}));
  EXPECT_EQ(open_in_group({"nvidia0", "nvidia1"}), (std::vector<int>{ENXIO, EPERM}));
}

TEST_F(GpuDeviceFilterTest, RefusesAFolderThatIsNotACgroupAndTooManyGpus) {
  auto not_a_group = attach_gpu_device_filter(root_.string(), {0});
  ASSERT_FALSE(not_a_group.ok());
  EXPECT_NE(not_a_group.message().find("BPF_PROG_ATTACH"), std::string::npos)
      << not_a_group.message();
  auto missing = attach_gpu_device_filter((root_ / "missing").string(), {0});
  EXPECT_NE(missing.message().find("open("), std::string::npos) << missing.message();
  EXPECT_FALSE(attach_gpu_device_filter(group_.string(), std::vector<int32_t>(300, 1)).ok());
}

}  // namespace
}  // namespace cadre::agent

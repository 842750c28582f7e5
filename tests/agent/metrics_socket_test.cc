#include "agent/metrics_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

namespace cadre::agent {
namespace {

class MetricsSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cadre-push-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "metrics.sock").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // What a replica does: one datagram to CADRE_METRICS_ADDR.
  ssize_t push(const std::string& text) const {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    // MSG_DONTWAIT: a full queue must fail the test, not hang it.
    const ssize_t n = ::sendto(fd, text.data(), text.size(), MSG_DONTWAIT,
                               reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    ::close(fd);
    return n;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(MetricsSocketTest, PushedLinesBecomeSamplesInOrder) {
  auto socket = MetricsSocket::Create(path_, std::nullopt, MetricLineParser());
  ASSERT_TRUE(socket.ok()) << socket.status().to_string();
  ASSERT_GT(push("epoch=1 loss=0.5\nepoch=2 loss=nan"), 0);
  ASSERT_GT(push("not a metric line"), 0);
  auto samples = (*socket)->poll(9);
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(samples[1].name, "loss");
  EXPECT_DOUBLE_EQ(samples[1].value, 0.5);
  EXPECT_EQ(samples[3].step, 2);
  EXPECT_TRUE(std::isnan(samples[3].value));
  EXPECT_TRUE((*socket)->poll(10).empty()) << "nothing waits twice";
}

TEST_F(MetricsSocketTest, IsClosedToOtherUsersAndRemovedWithItsReplica) {
  {
    auto socket = MetricsSocket::Create(path_, std::nullopt, MetricLineParser());
    ASSERT_TRUE(socket.ok());
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(MetricsSocket::address(path_), "unix://" + path_);
  }
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_LT(push("loss=1"), 0) << "no one listens once it is gone";
}

TEST_F(MetricsSocketTest, ADatagramOverTheLimitIsDroppedWholeAndTheNextOneStillCounts) {
  auto socket = MetricsSocket::Create(path_, std::nullopt, MetricLineParser());
  ASSERT_TRUE(socket.ok());
  ASSERT_GT(push("loss=1 " + std::string(kMaxPushDatagramBytes, 'x')), 0);
  ASSERT_GT(push("loss=2"), 0);
  auto samples = (*socket)->poll(0);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_DOUBLE_EQ(samples[0].value, 2);
}

TEST_F(MetricsSocketTest, TheSocketFolderMovesToTmpWhenTheWorkDirIsTooLongForASocketPath) {
  const std::string short_work_dir = "/tmp/cadre-w" + std::to_string(::getpid());
  auto short_dir = prepare_push_socket_dir(short_work_dir);
  ASSERT_TRUE(short_dir.ok());
  EXPECT_EQ(*short_dir, short_work_dir + "/push");
  std::filesystem::remove_all(short_work_dir);
  const std::string long_work_dir = dir_.string() + "/" + std::string(100, 'w');
  auto moved = prepare_push_socket_dir(long_work_dir);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->rfind("/tmp/cadre-push-", 0), 0u) << *moved;
  struct stat st {};
  ASSERT_EQ(::stat(moved->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0711u);
  std::filesystem::remove_all(*moved);
}

TEST_F(MetricsSocketTest, APathTooLongForAUnixSocketIsAnError) {
  auto socket = MetricsSocket::Create(std::string(200, 'a'), std::nullopt, MetricLineParser());
  EXPECT_FALSE(socket.ok());
}

}  // namespace
}  // namespace cadre::agent

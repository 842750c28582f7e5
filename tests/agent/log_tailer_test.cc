#include "agent/log_tailer.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

namespace cadre::agent {
namespace {

class LogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cadre-log-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "output.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void append(const std::string& text) {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << text;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(LogFileTest, TailerParsesOnlyNewCompleteLines) {
  LogTailer tailer(path_, 0);
  EXPECT_TRUE(tailer.poll(1).empty());  // no file yet
  append("hello\naccuracy=0.5\n");
  auto first = tailer.poll(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].name, "accuracy");
  EXPECT_TRUE(tailer.poll(1).empty());  // nothing new
}

TEST_F(LogFileTest, TailerWaitsForTheRestOfAPartialLine) {
  LogTailer tailer(path_, 0);
  append("loss=0.2");
  EXPECT_TRUE(tailer.poll(1).empty());
  append("5 acc");
  EXPECT_TRUE(tailer.poll(1).empty());
  append("uracy=0.75\n");
  auto samples = tailer.poll(1);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_DOUBLE_EQ(samples[0].value, 0.25);
  EXPECT_EQ(samples[1].name, "accuracy");
}

TEST_F(LogFileTest, FinishParsesAFinalLineWithoutNewline) {
  LogTailer tailer(path_, 0);
  append("epoch=1 loss=1\nepoch=2 loss=0.5");
  EXPECT_EQ(tailer.poll(1).size(), 2u);
  auto last = tailer.finish(2);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[1].step, 2);
  EXPECT_DOUBLE_EQ(last[1].value, 0.5);
}

TEST_F(LogFileTest, TailerSkipsTextWrittenBeforeItsStartOffset) {
  append("accuracy=0.1\n");
  LogTailer tailer(path_, static_cast<int64_t>(std::filesystem::file_size(path_)));
  append("accuracy=0.9\n");
  auto samples = tailer.poll(1);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_DOUBLE_EQ(samples[0].value, 0.9);
}

TEST_F(LogFileTest, TailerDropsOverlongLinesButKeepsFollowingOnes) {
  LogTailer tailer(path_, 0);
  append(std::string(200000, 'x'));
  EXPECT_TRUE(tailer.poll(1).empty());
  append("\naccuracy=1\n");
  EXPECT_EQ(tailer.poll(1).size(), 1u);
}

TEST_F(LogFileTest, ReadLogRangeHonoursOffsetsFromStartAndEnd) {
  append("0123456789");
  auto head = read_log_range(path_, 0, 4);
  ASSERT_OK(head);
  EXPECT_EQ(head->data, "0123");
  EXPECT_EQ(head->offset, 0);
  EXPECT_EQ(head->size, 10);

  auto middle = read_log_range(path_, 4, 100);
  EXPECT_EQ(middle->data, "456789");

  auto tail = read_log_range(path_, -3, 100);
  EXPECT_EQ(tail->data, "789");
  EXPECT_EQ(tail->offset, 7);

  auto before_start = read_log_range(path_, -100, 2);
  EXPECT_EQ(before_start->data, "01");
  EXPECT_EQ(before_start->offset, 0);

  auto past_end = read_log_range(path_, 50, 10);
  EXPECT_EQ(past_end->data, "");
  EXPECT_EQ(past_end->offset, 10);
}

TEST_F(LogFileTest, ReadLogRangeClampsTheRequestedSize) {
  append(std::string(kMaxLogChunkBytes + 10, 'a'));
  auto huge = read_log_range(path_, 0, int64_t{1} << 40);
  ASSERT_OK(huge);
  EXPECT_EQ(static_cast<int64_t>(huge->data.size()), kMaxLogChunkBytes);
  EXPECT_EQ(read_log_range(path_, 0, -5)->data.size(), 0u);
}

TEST_F(LogFileTest, ALogReplacedByASymlinkIsNotFollowed) {
  const auto secret = (dir_ / "secret").string();
  std::ofstream(secret) << "root:password-hash\n";
  std::filesystem::create_symlink(secret, path_);
  auto range = read_log_range(path_, 0, 1 << 20);
  ASSERT_FALSE(range.ok()) << "read through the link: " << range->data;
  EXPECT_EQ(range.status().code(), StatusCode::kNotFound);
  LogTailer tailer(path_, 0);
  std::ofstream(secret, std::ios::app) << "accuracy=0.99\n";
  EXPECT_TRUE(tailer.poll(1).empty()) << "metrics read through the link";
}

TEST_F(LogFileTest, AMetricsFileIsReadOnlyWhileItIsARegularFileOfItsOwner) {
  TailOptions options;
  options.owner = ::getuid() + 1;  // somebody else
  LogTailer foreign(path_, 0, MetricLineParser(), options);
  append("loss=1\n");
  EXPECT_TRUE(foreign.poll(0).empty()) << "not the replica's own file";
  options.owner = ::getuid();
  LogTailer own(path_, 0, MetricLineParser(), options);
  EXPECT_EQ(own.poll(0).size(), 1u);
  // A FIFO in its place neither blocks the agent nor yields anything.
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  LogTailer pipe(fifo, 0, MetricLineParser(), options);
  EXPECT_TRUE(pipe.poll(0).empty());
}

TEST_F(LogFileTest, AnOutputThatIsNotTheMetricsSourceYieldsNoSamples) {
  TailOptions options;
  options.metrics = false;
  LogTailer tailer(path_, 0, MetricLineParser(), options);
  append("loss=1\n");
  EXPECT_TRUE(tailer.poll(0).empty());
  EXPECT_TRUE(tailer.finish(0).empty());
}

TEST_F(LogFileTest, ReadLogRangeOfAMissingFileIsNotFound) {
  auto missing = read_log_range((dir_ / "nope.log").string(), 0, 10);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cadre::agent

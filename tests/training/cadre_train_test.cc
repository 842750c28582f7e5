// cadre-train as a process: the metric line, resuming from checkpoints,
// two-rank data parallelism over the ring, parameter-server mode, and clear
// failures (missing data, a peer that never comes) with a non-zero exit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "process_runner.h"

namespace {

namespace fs = std::filesystem;

using cadre::testing::free_port;
using cadre::testing::run_command;

const std::string kTrain = CADRE_TRAIN_BINARY;
const std::string kQuick = " --model mlp --threads 1 --train-limit 3000 --log-level error";

class CadreTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cadre-train-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

const std::regex kMetricLine(
    R"(epoch=(\d+) loss=[0-9.]+ accuracy=(0\.\d{4}) images_per_sec=[0-9.]+)");

TEST_F(CadreTrain, PrintsOneMetricLinePerEpochAndExportsTheModel) {
  auto r = run_command(kTrain + kQuick + " --epochs 2 --export " + (dir_ / "m.cadre").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  std::string rest = r.output;
  int lines = 0;
  while (std::regex_search(rest, m, kMetricLine)) {
    EXPECT_EQ(std::stoi(m[1]), ++lines);
    rest = m.suffix();
  }
  EXPECT_EQ(lines, 2) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "m.cadre"));
}

TEST_F(CadreTrain, AValidationSplitIsScoredEachEpochAndANarrowerMlpExportsFewerParameters) {
  const auto narrow = dir_ / "narrow.cadre";
  const auto wide = dir_ / "wide.cadre";
  auto r = run_command(kTrain + kQuick + " --epochs 2 --validation 1000 --hidden 32 --export " +
                       narrow.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::regex with_validation(
      R"(epoch=(\d+) loss=[0-9.]+ accuracy=0\.\d{4} val_loss=([0-9.]+) val_accuracy=(0\.\d{4}) images_per_sec=[0-9.]+)");
  std::smatch m;
  std::string rest = r.output;
  int lines = 0;
  while (std::regex_search(rest, m, with_validation)) {
    EXPECT_EQ(std::stoi(m[1]), ++lines);
    EXPECT_GT(std::stod(m[2]), 0.0) << m[0];
    EXPECT_GT(std::stod(m[3]), 0.5) << m[0];  // far above chance (0.1) after one epoch
    rest = m.suffix();
  }
  EXPECT_EQ(lines, 2) << r.output;
  ASSERT_EQ(run_command(kTrain + kQuick + " --epochs 1 --export " + wide.string()).exit_code, 0);
  // 784*32+32 + 32*10+10 parameters against 784*256+256 + 256*128+128 + 128*10+10.
  EXPECT_LT(fs::file_size(narrow) * 5, fs::file_size(wide));
}

TEST_F(CadreTrain, AValidationSplitOrHiddenWidthsThatCannotBeAreRefusedNamingTheFlag) {
  for (const std::string bad : {" --model mlp --validation 60000", " --model cnn --hidden 64",
                                " --model mlp --hidden 8,8,8,8,8", " --model mlp --hidden 0"}) {
    auto r = run_command(kTrain + " --threads 1 --train-limit 3000 --epochs 1" + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    const std::string flag =
        bad.find("validation") != std::string::npos ? "--validation" : "--hidden";
    EXPECT_NE(r.output.find(flag), std::string::npos) << bad << ": " << r.output;
  }
}

TEST_F(CadreTrain, ResumesFromTheLatestCheckpointInCadreCheckpointDir) {
  const std::string env = "CADRE_CHECKPOINT_DIR=" + (dir_ / "ckpt").string() + " ";
  auto first = run_command(env + kTrain + kQuick + " --epochs 1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(fs::exists(dir_ / "ckpt" / "ckpt-000001.cadre"));
  auto second = run_command(env + kTrain + kQuick + " --epochs 2");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output.find("epoch=1 "), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("epoch=2 "), std::string::npos) << second.output;
}

TEST_F(CadreTrain, MissingDataIsAClearErrorWithExitCodeTwo) {
  auto r = run_command(kTrain + kQuick + " --epochs 1 --data " + (dir_ / "nope").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("train-images-idx3-ubyte.gz"), std::string::npos) << r.output;
}

TEST_F(CadreTrain, BadFlagsAndEnvironmentExitWithCodeTwoNamingTheProblem) {
  auto flag = run_command(kTrain + kQuick + " --epochs 0");
  EXPECT_EQ(flag.exit_code, 2) << flag.output;
  EXPECT_NE(flag.output.find("--epochs"), std::string::npos) << flag.output;
  auto env =
      run_command("CADRE_RANK=0 CADRE_WORLD_SIZE=2 CADRE_PEERS=127.0.0.1:1 " + kTrain + kQuick);
  EXPECT_EQ(env.exit_code, 2) << env.output;
  EXPECT_NE(env.output.find("CADRE_PEERS"), std::string::npos) << env.output;
}

TEST_F(CadreTrain, PeerThatNeverComesFailsWithinTheTimeout) {
  const std::string peers =
      "127.0.0.1:" + std::to_string(free_port()) + ",127.0.0.1:" + std::to_string(free_port());
  const auto start = std::chrono::steady_clock::now();
  auto r = run_command("CADRE_RANK=0 CADRE_WORLD_SIZE=2 CADRE_PEERS=" + peers + " " + kTrain +
                       kQuick + " --epochs 1 --timeout 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("DeadlineExceeded"), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(CadreTrain, TwoRanksTrainTogetherOverTheRing) {
  const std::string peers =
      "127.0.0.1:" + std::to_string(free_port()) + ",127.0.0.1:" + std::to_string(free_port());
  const std::string env = "CADRE_WORLD_SIZE=2 CADRE_PEERS=" + peers + " ";
  const std::string rank1 = dir_ / "rank1.log";
  auto r =
      run_command("(CADRE_RANK=1 " + env + kTrain + kQuick + " --epochs 1 --timeout 30 > " + rank1 +
                  " 2>&1 &) ; CADRE_RANK=0 " + env + kTrain + kQuick + " --epochs 1 --timeout 30");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, kMetricLine)) << r.output;
  EXPECT_GT(std::stod(m[2]), 0.6);
}

TEST_F(CadreTrain, ParameterServerModeTrainsWithTwoServersAndTwoWorkers) {
  std::string peers;
  for (int i = 0; i < 4; ++i)
    peers += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(free_port());
  const std::string env = "CADRE_WORLD_SIZE=4 CADRE_PEERS=" + peers + " ";
  const std::string flags = kQuick + " --epochs 1 --mode ps --ps-replicas 2 --timeout 30";
  std::string background;
  for (int rank : {0, 1, 3})
    background += "(CADRE_RANK=" + std::to_string(rank) + " " + env + kTrain + flags + " > " +
                  (dir_ / ("r" + std::to_string(rank))).string() + " 2>&1 &) ; ";
  auto r = run_command(background + "CADRE_RANK=2 " + env + kTrain + flags);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, kMetricLine)) << r.output;
  EXPECT_GT(std::stod(m[2]), 0.6);
}

// One parameter server (rank 0) and one worker (rank 1) in ps mode, sharing a
// checkpoint dir; the server runs in the background and exits once the worker
// says done. Returns the worker's run.
cadre::testing::CommandResult run_ps_pair(const fs::path& checkpoints, int epochs,
                                          const fs::path& server_log) {
  const std::string peers =
      "127.0.0.1:" + std::to_string(free_port()) + ",127.0.0.1:" + std::to_string(free_port());
  const std::string env = "CADRE_WORLD_SIZE=2 CADRE_PEERS=" + peers +
                          " CADRE_CHECKPOINT_DIR=" + checkpoints.string() + " ";
  const std::string flags =
      kQuick + " --mode ps --ps-replicas 1 --timeout 30 --lr-schedule constant --epochs " +
      std::to_string(epochs);
  return run_command("(CADRE_RANK=0 " + env + kTrain + flags + " > " + server_log.string() +
                     " 2>&1 &) ; CADRE_RANK=1 " + env + kTrain + flags);
}

// "loss=... accuracy=..." of the metric line of `epoch`, or "" when absent.
std::string epoch_result(const std::string& out, int epoch) {
  std::smatch m;
  const std::regex line("epoch=" + std::to_string(epoch) + R"( (loss=[0-9.]+ accuracy=[0-9.]+))");
  return std::regex_search(out, m, line) ? m[1].str() : "";
}

TEST_F(CadreTrain, ParameterServersCheckpointTheirShardsAndTheJobResumesExactlyFromTheChiefsEpoch) {
  const fs::path resumed_dir = dir_ / "resumed", straight_dir = dir_ / "straight";
  auto first = run_ps_pair(resumed_dir, 1, dir_ / "server-1.log");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(fs::exists(resumed_dir / "ckpt-000001.cadre"));           // the chief's commit
  EXPECT_TRUE(fs::exists(resumed_dir / "ps-0" / "ckpt-000001.cadre"));  // the server's shard

  // Fresh processes, same dir, one more epoch: only epoch 2 runs.
  auto resumed = run_ps_pair(resumed_dir, 2, dir_ / "server-2.log");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(epoch_result(resumed.output, 1), "") << resumed.output;
  EXPECT_TRUE(fs::exists(resumed_dir / "ps-0" / "ckpt-000002.cadre"));

  // Synchronous training with one worker is deterministic, so resuming from the
  // shard (parameters and Adam state) must give exactly the uninterrupted run
  // (with a constant learning rate: a schedule's length depends on --epochs).
  auto straight = run_ps_pair(straight_dir, 2, dir_ / "server-3.log");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  ASSERT_NE(epoch_result(straight.output, 2), "") << straight.output;
  EXPECT_EQ(epoch_result(resumed.output, 2), epoch_result(straight.output, 2))
      << "resumed:\n"
      << resumed.output << "\nstraight:\n"
      << straight.output;
}

TEST_F(CadreTrain, WorkerWhoseParameterServerRestartsMidRunExitsNamingTheServer) {
  const std::string peers =
      "127.0.0.1:" + std::to_string(free_port()) + ",127.0.0.1:" + std::to_string(free_port());
  const std::string env = "CADRE_WORLD_SIZE=2 CADRE_PEERS=" + peers + " ";
  const std::string flags = kQuick + " --mode ps --ps-replicas 1 --timeout 5 --epochs 50";
  const std::string server = "CADRE_RANK=0 " + env + kTrain + flags;
  const std::string pid = (dir_ / "server.pid").string();
  // The server is killed while the worker trains and comes back without its
  // shard; the worker must stop with the reason (or, if its request died with
  // the old server, a timeout naming it), never train on from a fresh shard.
  auto r =
      run_command("sh -c 'echo $$ > " + pid + "; exec env " + server + "' > /dev/null 2>&1 & " +
                  "CADRE_RANK=1 " + env + kTrain + flags + " 2>&1 & worker=$!; sleep 2; " +
                  "kill -9 $(cat " + pid + "); sh -c 'echo $$ > " + pid + "; exec env " + server +
                  "' > /dev/null 2>&1 & wait $worker; code=$?; kill -9 $(cat " + pid +
                  ") 2>/dev/null; exit $code");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("parameter server 0"), std::string::npos) << r.output;
  EXPECT_EQ(epoch_result(r.output, 50), "") << r.output;
}

}  // namespace

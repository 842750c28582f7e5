// The cadre-rsh binary end to end: a real `serve` on 127.0.0.1 driven by the real
// client, as mpirun would drive it. Fast (well under a second each); no label.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>

#include "agent/rsh/socket_io.h"
#include "protocol/exec_messages.h"
#include "tests/rsh/rsh_test_support.h"
#include "tests/support/status_matchers.h"

namespace cadre::testing {
namespace {

const std::string kBinary = CADRE_RSH_BINARY;
const std::string kToken = "0123456789abcdef-job-token";

class RshEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    serve_ = std::make_unique<ServeProcess>(
        kBinary, std::vector<std::string>{"--bind", "127.0.0.1", "--port", std::to_string(port_)},
        std::map<std::string, std::string>{{"CADRE_JOB_TOKEN", kToken},
                                           {"CADRE_JOB", "rsh-e2e"},
                                           {"CADRE_REPLICA_TYPE", "Worker"},
                                           {"CADRE_REPLICA_INDEX", "0"}},
        dir_.file("serve.log"));
    ASSERT_TRUE(serve_->ready()) << serve_->output();
  }

  std::map<std::string, std::string> client_env(const std::string& token = kToken) const {
    return {{"CADRE_JOB_TOKEN", token},
            {"CADRE_MPI_HOSTS", "rsh-e2e-worker-0=127.0.0.1:" + std::to_string(port_)},
            {"CADRE_RSH_CONNECT_TIMEOUT_S", "2"}};
  }

  // `cadre-rsh ARGS...` as mpirun runs it, output in <name>.log.
  std::unique_ptr<ChildProcess> client(std::vector<std::string> args, const std::string& name,
                                       std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), kBinary);
    if (env.empty()) env = client_env();
    return std::make_unique<ChildProcess>(args, env, dir_.file(name + ".log"));
  }

  ScratchDir dir_;
  int port_ = 0;
  std::unique_ptr<ServeProcess> serve_;
};

TEST_F(RshEndToEnd, RelaysStdoutAndStderrSeparatelyAndReturnsTheRemoteExitCode) {
  const std::string err = dir_.file("stderr");
  ChildProcess run(
      {"/bin/sh", "-c",
       "exec " + kBinary + " -x rsh-e2e-worker-0 'echo out; echo err >&2; exit 7' 2>" + err},
      client_env(), dir_.file("client.log"));
  EXPECT_EQ(run.wait(), 7);
  EXPECT_EQ(run.output(), "out\n");
  EXPECT_EQ(read_file(err), "err\n");
  EXPECT_NE(serve_->output().find("job=rsh-e2e replica=worker-0 session=1"), std::string::npos)
      << serve_->output();
}

TEST_F(RshEndToEnd, JoinsTheCommandWordsForTheRemoteShellAsSshDoes) {
  auto run = client(
      {"-T", "-o", "BatchMode=yes", "rsh-e2e-worker-0", "echo", "$((6*7))", "\"a  b\""}, "client");
  EXPECT_EQ(run->wait(), 0);
  EXPECT_EQ(run->output(), "42 a  b\n");
}

TEST_F(RshEndToEnd, ACommandKilledByASignalExitsWith128PlusTheSignal) {
  auto run = client({"rsh-e2e-worker-0", "kill -9 $$"}, "client");
  EXPECT_EQ(run->wait(), 137);
}

TEST_F(RshEndToEnd, AWrongTokenIsRefusedWithExit255BeforeAnythingRuns) {
  const std::string marker = dir_.file("ran");
  auto run = client({"rsh-e2e-worker-0", "touch " + marker}, "client",
                    client_env("another-jobs-token-0123456789"));
  EXPECT_EQ(run->wait(), 255);
  EXPECT_NE(run->output().find("host rsh-e2e-worker-0"), std::string::npos) << run->output();
  EXPECT_NE(run->output().find("authentication failed"), std::string::npos) << run->output();
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_TRUE(eventually([&] {
    return serve_->output().find("did not prove the job token") != std::string::npos;
  })) << serve_->output();
}

TEST_F(RshEndToEnd, AnUnknownOrUnreachableHostExits255NamingIt) {
  auto unknown = client({"rsh-e2e-worker-9", "true"}, "unknown");
  EXPECT_EQ(unknown->wait(), 255);
  EXPECT_NE(unknown->output().find("rsh-e2e-worker-9"), std::string::npos) << unknown->output();

  auto env = client_env();
  env["CADRE_MPI_HOSTS"] = "rsh-e2e-worker-1=127.0.0.1:" + std::to_string(free_port());
  env["CADRE_RSH_CONNECT_TIMEOUT_S"] = "0";
  auto unreachable = client({"rsh-e2e-worker-1", "true"}, "unreachable", env);
  EXPECT_EQ(unreachable->wait(), 255);
  EXPECT_NE(unreachable->output().find("host rsh-e2e-worker-1"), std::string::npos)
      << unreachable->output();
  EXPECT_NE(unreachable->output().find("refused"), std::string::npos) << unreachable->output();
}

TEST_F(RshEndToEnd, HangingUpKillsEveryProcessOfTheRemoteCommandsGroup) {
  // sh and a background sleep: both in the command's process group.
  auto run = client({"rsh-e2e-worker-0", "echo $$; sleep 1000 & echo $!; wait"}, "client");
  pid_t shell = 0, sleeper = 0;
  ASSERT_TRUE(eventually([&] {
    return std::sscanf(run->output().c_str(), "%d %d", &shell, &sleeper) == 2;
  })) << run->output();
  ASSERT_TRUE(process_alive(shell));
  ASSERT_TRUE(process_alive(sleeper));
  run->signal(SIGKILL);  // mpirun aborting, or the Launcher's node dying
  EXPECT_TRUE(eventually([&] { return !process_alive(shell) && !process_alive(sleeper); }));
  EXPECT_TRUE(eventually([&] {
    return serve_->output().find("client hung up") != std::string::npos;
  })) << serve_->output();
}

TEST_F(RshEndToEnd, ServesSessionsConcurrently) {
  // The first command only ends once the second has run, so serial service deadlocks.
  const std::string flag = dir_.file("flag");
  auto waiter =
      client({"rsh-e2e-worker-0", "while [ ! -e " + flag + " ]; do sleep 0.02; done"}, "waiter");
  ASSERT_TRUE(eventually([&] { return serve_->output().find("session=1") != std::string::npos; }));
  auto toucher = client({"rsh-e2e-worker-0", "touch " + flag}, "toucher");
  EXPECT_EQ(toucher->wait(10s), 0);
  EXPECT_EQ(waiter->wait(10s), 0);
}

TEST_F(RshEndToEnd, SigtermEndsRunningCommandsAndTheServerExitsZero) {
  auto run = client({"rsh-e2e-worker-0", "echo $$; exec sleep 1000"}, "client");
  pid_t sleeper = 0;
  ASSERT_TRUE(eventually([&] { return std::sscanf(run->output().c_str(), "%d", &sleeper) == 1; }));
  serve_->signal(SIGTERM);
  EXPECT_EQ(serve_->wait(10s), 0) << serve_->output();
  EXPECT_EQ(run->wait(10s), 128 + SIGTERM);  // the client still hears how it ended
  EXPECT_FALSE(process_alive(sleeper));
}

TEST_F(RshEndToEnd, GarbageOnTheWireGetsOnlyTheChallengeAndTheServerKeepsServing) {
  using namespace agent::rsh;
  auto socket = connect_tcp("127.0.0.1", port_, Clock::now() + 2s);
  ASSERT_OK(socket);
  // A 32-byte "nonce" of junk, then a junk proof: the server answers with its own
  // nonce and proof (64 bytes, nothing secret) and closes; no frame is ever read.
  ASSERT_OK(write_all(socket->get(), std::string(32, '\xff')));
  std::string received;
  char buffer[256];
  for (ssize_t n; (n = ::recv(socket->get(), buffer, sizeof buffer, 0)) > 0;) {
    received.append(buffer, static_cast<size_t>(n));
    if (received.size() >= 64) (void)write_all(socket->get(), std::string(32, '\x00'));
  }
  EXPECT_EQ(received.size(), 64u);

  auto run = client({"rsh-e2e-worker-0", "echo still here"}, "client");
  EXPECT_EQ(run->wait(), 0);
  EXPECT_EQ(run->output(), "still here\n");
}

TEST_F(RshEndToEnd, AThousandIdleConnectionsDoNotStopTheJobsLauncher) {
  std::vector<agent::rsh::Fd> idle;
  for (int i = 0; i < 1000; ++i) {
    auto socket = agent::rsh::connect_tcp("127.0.0.1", port_, agent::rsh::Clock::now() + 2s);
    ASSERT_OK(socket);
    idle.push_back(std::move(*socket));
  }
  auto run = client({"rsh-e2e-worker-0", "echo through"}, "client");
  EXPECT_EQ(run->wait(20s), 0) << run->output();
  EXPECT_EQ(run->output(), "through\n");
}

TEST(RshServe, RefusesToStartWithoutAJobToken) {
  ScratchDir dir;
  ChildProcess serve({kBinary, "serve", "--port", "0"}, {{"CADRE_JOB_TOKEN", ""}},
                     dir.file("serve.log"));
  EXPECT_EQ(serve.wait(), 2);
  EXPECT_NE(serve.output().find("CADRE_JOB_TOKEN"), std::string::npos) << serve.output();
}

}  // namespace
}  // namespace cadre::testing

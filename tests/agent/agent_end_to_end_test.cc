// Drives the real cadre-agent binary against a fake coordinator: a CURVE ROUTER
// socket in this test that speaks protocol/ structs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "protocol/codec.h"
#include "protocol/curve_keys.h"
#include "protocol/framing.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/status_matchers.h"

namespace cadre::agent {
namespace {

using namespace std::chrono_literals;
using protocol::MessageKind;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// The coordinator's side of the agent port, reduced to what a test needs.
class FakeCoordinator {
 public:
  explicit FakeCoordinator(const protocol::KeyPair& keys,
                           const std::string& endpoint = "tcp://127.0.0.1:*")
      : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }

  const std::string& endpoint() const { return endpoint_; }
  // Whether heartbeats are answered with HeartbeatAck{known=true}.
  void set_ack_heartbeats(bool on) { ack_heartbeats_ = on; }

  template <typename T>
  uint64_t send(MessageKind kind, const T& body, uint64_t epoch, uint64_t reply_to = 0) {
    protocol::Header header;
    header.kind = kind;
    header.id = ++last_id_;
    header.epoch = epoch;
    header.reply_to = reply_to;
    EXPECT_OK(protocol::send_envelope(socket_, identity_, true, header, protocol::encode(body)));
    return header.id;
  }

  // Waits for the next message of `kind`, remembering everything received.
  std::optional<protocol::Envelope> expect(MessageKind kind, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto envelope =
          receive(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      if (envelope && envelope->header.kind == kind) return envelope;
    }
    return std::nullopt;
  }

  // The next message of any kind, or nullopt after `timeout`.
  std::optional<protocol::Envelope> expect_any(std::chrono::milliseconds timeout) {
    return receive(timeout);
  }

  template <typename T>
  T body(const protocol::Envelope& envelope) {
    auto decoded = protocol::decode_body<T>(envelope, protocol::DecodeLimits{});
    EXPECT_OK(decoded);
    return decoded.ok() ? *decoded : T{};
  }

  // Registers the agent: waits for its Register and answers with `epoch`.
  protocol::RegisterRequest accept_registration(uint64_t epoch, std::vector<std::string> kill = {},
                                                int64_t lease_ms = 0) {
    auto reg = expect(MessageKind::kRegister, 10s);
    EXPECT_TRUE(reg.has_value()) << "the agent never registered";
    if (!reg) return {};
    protocol::RegisterReply reply;
    reply.node = "e2e-node";
    reply.epoch = epoch;
    reply.heartbeat_interval_ms = 200;
    reply.kill = std::move(kill);
    reply.lease_ms = lease_ms;
    send(MessageKind::kRegisterReply, reply, epoch, reg->header.id);
    return body<protocol::RegisterRequest>(*reg);
  }

  const std::vector<protocol::Envelope>& received() const { return received_; }

 private:
  std::optional<protocol::Envelope> receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::max(timeout, 1ms));
    if (!(items[0].revents & ZMQ_POLLIN)) return std::nullopt;
    auto envelope = protocol::recv_envelope(socket_, true, protocol::DecodeLimits{});
    EXPECT_OK(envelope);
    if (!envelope.ok()) return std::nullopt;
    identity_ = envelope->identity;
    received_.push_back(*envelope);
    if (ack_heartbeats_ && envelope->header.kind == MessageKind::kHeartbeat) {
      send(MessageKind::kHeartbeatAck, protocol::HeartbeatAck{true}, envelope->header.epoch);
    }
    return *envelope;
  }

  zmq::context_t context_;
  zmq::socket_t socket_;
  std::string endpoint_;
  std::string identity_;
  uint64_t last_id_ = 1000;
  bool ack_heartbeats_ = true;
  std::vector<protocol::Envelope> received_;
};

// One cadre-agent process, stopped (SIGTERM, then SIGKILL) when the test ends.
class AgentProcess : public cadre::testing::ChildProcess {
 public:
  AgentProcess(const std::vector<std::string>& args, const std::string& log_path)
      : ChildProcess(with_binary(args), {}, log_path, 8s) {}

 private:
  static std::vector<std::string> with_binary(const std::vector<std::string>& args) {
    std::vector<std::string> argv{CADRE_AGENT_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

class AgentEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cadre-agent-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto server_keys = protocol::generate_keypair();
    auto agent_keys = protocol::generate_keypair();
    ASSERT_TRUE(server_keys.ok() && agent_keys.ok());
    ASSERT_OK(protocol::write_keypair((dir_ / "coordinator").string(), *server_keys));
    ASSERT_OK(protocol::write_keypair((dir_ / "agent").string(), *agent_keys));
    server_keys_ = *server_keys;
    coordinator_ = std::make_unique<FakeCoordinator>(server_keys_);
  }
  void TearDown() override {
    agent_.reset();
    if (HasFailure()) {
      std::ifstream log(dir_ / "agent.log");
      std::stringstream text;
      text << log.rdbuf();
      std::cerr << "---- agent log ----\n" << text.str() << "-------------------\n";
    }
    coordinator_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> agent_args() const {
    return {"--coordinator",
            coordinator_->endpoint(),
            "--server-key",
            (dir_ / "coordinator.pub").string(),
            "--key",
            (dir_ / "agent.key").string(),
            "--work-dir",
            (dir_ / "work").string(),
            "--name",
            "e2e-node",
            "--cpus",
            "2",
            "--memory",
            "1Gi",
            "--gpus",
            "2",
            "--label",
            "zone=a",
            "--shutdown-grace",
            "2",
            "--log-level",
            "debug",
            "--port-range",
            "31000-31099"};
  }
  void start_agent() {
    agent_ = std::make_unique<AgentProcess>(agent_args(), (dir_ / "agent.log").string());
  }

  static protocol::LaunchReplica shell_replica(const std::string& uid, const std::string& script) {
    protocol::LaunchReplica launch;
    launch.uid = uid;
    launch.job = "job";
    launch.command = {"sh", "-c", script};
    launch.env = {{"CADRE_RANK", "0"}};
    return launch;
  }

  // The next ReplicaStarted or ReplicaExited for `uid`, skipping other replicas'.
  template <typename T>
  std::optional<T> expect_for(MessageKind kind, const std::string& uid,
                              std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto envelope = coordinator_->expect(
          kind, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      if (!envelope) break;
      T body = coordinator_->body<T>(*envelope);
      if (body.uid == uid) return body;
    }
    return std::nullopt;
  }

  // True once `pid` has exited: gone, or a zombie its (possibly frozen) parent
  // has not reaped yet.
  static bool is_dead(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    return paren == std::string::npos || text.compare(paren, 3, ") Z") == 0 ||
           text.compare(paren, 3, ") X") == 0;
  }

  // Polls until `pid` is dead; how long that took from `since`, or nullopt.
  static std::optional<std::chrono::milliseconds> wait_dead(pid_t pid, Clock::time_point since,
                                                            std::chrono::milliseconds timeout) {
    while (Clock::now() < since + timeout) {
      if (is_dead(pid)) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  std::filesystem::path dir_;
  protocol::KeyPair server_keys_;
  std::unique_ptr<FakeCoordinator> coordinator_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentEndToEndTest, RegistersLaunchesAndResendsTheExitUntilAcknowledged) {
  start_agent();
  const auto reg = coordinator_->accept_registration(7);
  EXPECT_EQ(reg.name, "e2e-node");
  EXPECT_EQ(reg.cpu_millis, 2000);
  EXPECT_EQ(reg.memory_bytes, 1ll << 30);
  EXPECT_EQ(reg.gpus, 2);
  EXPECT_EQ(reg.labels.at("zone"), "a");
  EXPECT_TRUE(reg.running.empty());
  EXPECT_FALSE(reg.agent_version.empty());
  EXPECT_EQ(reg.port_min, 31000);
  EXPECT_EQ(reg.port_max, 31099);

  auto heartbeat = coordinator_->expect(MessageKind::kHeartbeat, 3s);
  ASSERT_TRUE(heartbeat.has_value());
  EXPECT_EQ(heartbeat->header.epoch, 7u);

  coordinator_->send(MessageKind::kLaunchReplica,
                     shell_replica("job-0", "echo hello-cadre; echo accuracy=0.5; exit 3"), 7);
  auto started = expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "job-0", 5s);
  ASSERT_TRUE(started.has_value());
  EXPECT_GT(started->pid, 0);

  auto exited = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "job-0", 5s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->exit_code, 3);
  EXPECT_EQ(exited->reason, "Error");

  // The metric line reached the coordinator before the exit did.
  bool saw_metric = false;
  for (const auto& envelope : coordinator_->received()) {
    if (envelope.header.kind == MessageKind::kReplicaExited) break;
    if (envelope.header.kind != MessageKind::kMetrics) continue;
    for (const auto& sample : coordinator_->body<protocol::MetricsReport>(envelope).samples) {
      saw_metric |= sample.name == "accuracy" && sample.value == 0.5;
    }
  }
  EXPECT_TRUE(saw_metric);

  // Unacknowledged, the exit comes again; acknowledged, it stops.
  ASSERT_TRUE(expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "job-0", 4s));
  coordinator_->send(MessageKind::kReplicaExitedAck, protocol::ReplicaExitedAck{"job-0"}, 7);
  coordinator_->expect(MessageKind::kHeartbeat, 1s);  // the ack has been read by now
  EXPECT_FALSE(expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "job-0", 2500ms));

  // The log outlives the replica.
  const uint64_t request =
      coordinator_->send(MessageKind::kReadLogs, protocol::ReadLogs{"job-0", 0, 1 << 20}, 7);
  auto chunk_envelope = coordinator_->expect(MessageKind::kLogsChunk, 3s);
  ASSERT_TRUE(chunk_envelope.has_value());
  EXPECT_EQ(chunk_envelope->header.reply_to, request);
  auto chunk = coordinator_->body<protocol::LogsChunk>(*chunk_envelope);
  EXPECT_TRUE(chunk.found);
  EXPECT_EQ(chunk.data, "hello-cadre\naccuracy=0.5\n");
  EXPECT_EQ(chunk.size, static_cast<int64_t>(chunk.data.size()));

  coordinator_->send(MessageKind::kReadLogs, protocol::ReadLogs{"../../etc", 0, 100}, 7);
  auto unknown = coordinator_->expect(MessageKind::kLogsChunk, 3s);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(coordinator_->body<protocol::LogsChunk>(*unknown).found);
}

TEST_F(AgentEndToEndTest, DropsCommandsFromAStaleEpoch) {
  start_agent();
  coordinator_->accept_registration(5);
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("stale", "exec sleep 30"), 4);
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("fresh", "exec sleep 30"), 5);
  auto started = coordinator_->expect(MessageKind::kReplicaStarted, 5s);
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(coordinator_->body<protocol::ReplicaStarted>(*started).uid, "fresh");

  // A stale kill is ignored; the current one stops the replica with SIGTERM.
  coordinator_->send(MessageKind::kKillReplica, protocol::KillReplica{"fresh", 100, "old"}, 4);
  EXPECT_FALSE(expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "fresh", 1s));
  coordinator_->send(MessageKind::kKillReplica, protocol::KillReplica{"fresh", 5000, "delete"}, 5);
  auto exited = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "fresh", 3s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->reason, "Killed");
  EXPECT_EQ(exited->signal, SIGTERM);

  for (const auto& envelope : coordinator_->received()) {
    if (envelope.header.kind == MessageKind::kReplicaStarted) {
      EXPECT_NE(coordinator_->body<protocol::ReplicaStarted>(envelope).uid, "stale");
    }
  }
}

TEST_F(AgentEndToEndTest, RemovesADeletedJobsFilesAndThoseOfAReplicaStillStoppingOnceItExits) {
  start_agent();
  coordinator_->accept_registration(3);
  const auto work = dir_ / "work";
  coordinator_->send(MessageKind::kLaunchReplica,
                     shell_replica("hello-k1-main-0-0", "echo done > file; echo out"), 3);
  coordinator_->send(MessageKind::kLaunchReplica,
                     shell_replica("hello-k1-main-0-1", "echo first; exec sleep 30"), 3);
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("hello-k2-main-0-0", "echo new"),
                     3);
  ASSERT_TRUE(
      expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "hello-k1-main-0-0", 5s));
  ASSERT_TRUE(
      expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "hello-k2-main-0-0", 5s));
  ASSERT_TRUE(fs::exists(work / "replicas" / "hello-k1-main-0-0" / "file"));
  ASSERT_TRUE(fs::exists(work / "logs" / "hello-k1-main-0-0.log"));

  protocol::RemoveReplicaFiles remove{"hello", "hello-k1-", {"main-0"}};
  coordinator_->send(MessageKind::kRemoveReplicaFiles, remove, 2);  // a stale epoch: ignored
  coordinator_->expect(MessageKind::kHeartbeat, 2s);
  EXPECT_TRUE(fs::exists(work / "logs" / "hello-k1-main-0-0.log"));
  coordinator_->send(MessageKind::kRemoveReplicaFiles, remove, 3);
  auto answer = coordinator_->expect(MessageKind::kReplicaFilesRemoved, 5s);
  ASSERT_TRUE(answer.has_value()) << "the agent answers, so the coordinator need not resend";
  EXPECT_EQ(coordinator_->body<protocol::ReplicaFilesRemoved>(*answer).uid_prefix, "hello-k1-");
  EXPECT_TRUE(cadre::testing::eventually(
      [&] { return !fs::exists(work / "replicas" / "hello-k1-main-0-0"); }, 5s));
  EXPECT_FALSE(fs::exists(work / "logs" / "hello-k1-main-0-0.log"));
  EXPECT_TRUE(fs::exists(work / "logs" / "hello-k2-main-0-0.log")) << "the job created again";
  EXPECT_TRUE(fs::exists(work / "logs" / "hello-k1-main-0-1.log")) << "still running";

  coordinator_->send(MessageKind::kKillReplica,
                     protocol::KillReplica{"hello-k1-main-0-1", 2000, ""}, 3);
  ASSERT_TRUE(
      expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "hello-k1-main-0-1", 5s));
  EXPECT_TRUE(cadre::testing::eventually(
      [&] { return !fs::exists(work / "logs" / "hello-k1-main-0-1.log"); }, 5s))
      << "removed once it exited";
  EXPECT_FALSE(fs::exists(work / "replicas" / "hello-k1-main-0-1"));

  coordinator_->send(MessageKind::kReadLogs, protocol::ReadLogs{"hello-k1-main-0-0", 0, 100}, 3);
  auto chunk = coordinator_->expect(MessageKind::kLogsChunk, 3s);
  ASSERT_TRUE(chunk.has_value());
  EXPECT_FALSE(coordinator_->body<protocol::LogsChunk>(*chunk).found);
}

TEST_F(AgentEndToEndTest, AFileCollectorReadsWhatAReplicaWritesTheMomentItStarts) {
  start_agent();
  coordinator_->accept_registration(1);
  // Each writes its metrics file first thing and exits: however soon that is, the
  // agent reads the file from where it stood before the replica started.
  constexpr int kReplicas = 16;
  for (int i = 0; i < kReplicas; ++i) {
    auto launch = shell_replica("file-" + std::to_string(i),
                                "echo accuracy=0." + std::to_string(i + 1) + " > metrics.log");
    launch.metrics.source = "file";
    launch.metrics.file = "metrics.log";
    coordinator_->send(MessageKind::kLaunchReplica, launch, 1);
  }
  std::map<std::string, double> accuracy;
  int exits = 0;
  const auto deadline = Clock::now() + 10s;
  while (exits < kReplicas && Clock::now() < deadline) {
    auto envelope = coordinator_->expect_any(1s);
    if (!envelope) continue;
    if (envelope->header.kind == MessageKind::kReplicaExited) {
      const auto exit = coordinator_->body<protocol::ReplicaExited>(*envelope);
      coordinator_->send(MessageKind::kReplicaExitedAck, protocol::ReplicaExitedAck{exit.uid}, 1);
      EXPECT_EQ(accuracy.count(exit.uid), 1u) << exit.uid << " exited before its metrics came";
      ++exits;
    }
    if (envelope->header.kind != MessageKind::kMetrics) continue;
    const auto report = coordinator_->body<protocol::MetricsReport>(*envelope);
    for (const auto& sample : report.samples) {
      if (sample.name == "accuracy") accuracy[report.uid] = sample.value;
    }
  }
  EXPECT_EQ(exits, kReplicas);
  ASSERT_EQ(accuracy.size(), static_cast<size_t>(kReplicas));
  EXPECT_DOUBLE_EQ(accuracy.at("file-6"), 0.7);
}

TEST_F(AgentEndToEndTest, ReportsAMissingBinaryAsLaunchFailed) {
  start_agent();
  coordinator_->accept_registration(1);
  protocol::LaunchReplica launch;
  launch.uid = "nobin";
  launch.job = "job";
  launch.command = {"cadre-test-no-such-binary"};
  coordinator_->send(MessageKind::kLaunchReplica, launch, 1);
  auto exited = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "nobin", 5s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->exit_code, 127);
  EXPECT_EQ(exited->reason, "LaunchFailed");
  // ENOENT, or EACCES when the replica's user may not search a folder on the PATH
  // (a root agent's PATH may name /root/...): either way the call and name are named.
  EXPECT_EQ(exited->message.rfind("execvp(cadre-test-no-such-binary): ", 0), 0u) << exited->message;
}

TEST_F(AgentEndToEndTest, ReportsATakenPortAsPortInUseWithoutStartingTheReplica) {
  // Another program listens on the port the coordinator reserved.
  // (Close-on-exec, or the agent started below would hold it open too.)
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);

  start_agent();
  coordinator_->accept_registration(1);
  const auto marker = dir_ / "started";
  auto launch = shell_replica("taken", "touch " + marker.string() + "; exec sleep 30");
  launch.port = port;
  coordinator_->send(MessageKind::kLaunchReplica, launch, 1);
  auto exited = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "taken", 5s);
  ::close(listener);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->exit_code, 127);
  EXPECT_EQ(exited->reason, "PortInUse");
  EXPECT_NE(exited->message.find("port " + std::to_string(port)), std::string::npos)
      << exited->message;
  EXPECT_FALSE(std::filesystem::exists(marker));
  for (const auto& envelope : coordinator_->received()) {
    EXPECT_NE(envelope.header.kind, MessageKind::kReplicaStarted);
  }

  // A free port is no obstacle.
  launch = shell_replica("free", "exit 0");
  launch.port = port;
  coordinator_->send(MessageKind::kLaunchReplica, launch, 1);
  EXPECT_TRUE(expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "free", 5s));
}

TEST_F(AgentEndToEndTest, KillsItsReplicasWhenHeartbeatAcksStopForTheLease) {
  constexpr auto kLease = 1500ms;
  start_agent();
  coordinator_->accept_registration(1, {}, kLease.count());
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("fenced", "exec sleep 60"), 1);
  auto started = expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "fenced", 5s);
  ASSERT_TRUE(started.has_value());
  // Renewals keep it alive past a whole lease.
  coordinator_->expect(MessageKind::kRegister, kLease + 500ms);
  ASSERT_FALSE(is_dead(static_cast<pid_t>(started->pid)));

  coordinator_->set_ack_heartbeats(false);
  const auto silent_since = Clock::now();
  auto died = wait_dead(static_cast<pid_t>(started->pid), silent_since, kLease + 1s);
  ASSERT_TRUE(died.has_value()) << "the replica outlived the lease";
  // The last acked heartbeat went out at most a heartbeat interval (200 ms) before.
  EXPECT_GE(*died, kLease - 300ms);

  auto exited = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "fenced", 3s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->reason, "LeaseExpired");
  EXPECT_EQ(exited->signal, SIGKILL);
  // The coordinator has moved on: the agent registers again, without the replica.
  coordinator_->set_ack_heartbeats(true);
  const auto reg = coordinator_->accept_registration(2, {}, kLease.count());
  EXPECT_TRUE(reg.running.empty());
}

TEST_F(AgentEndToEndTest, ItsWatchdogKillsTheReplicasOfAFrozenAgent) {
  constexpr auto kLease = 1000ms;
  start_agent();
  coordinator_->accept_registration(1, {}, kLease.count());
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("frozen", "exec sleep 60"), 1);
  auto started = expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "frozen", 5s);
  ASSERT_TRUE(started.has_value());
  const auto replica = static_cast<pid_t>(started->pid);

  agent_->signal(SIGSTOP);
  const auto frozen_since = Clock::now();
  auto died = wait_dead(replica, frozen_since, kLease + 1s);
  ASSERT_TRUE(died.has_value()) << "the replica outlived the lease of its frozen agent";
  EXPECT_GE(*died, kLease - 300ms);
  agent_->signal(SIGCONT);

  // Thawed, the agent learns what happened: the exit says why, and the acks that
  // queued up meanwhile do not revive the lease.
  auto exited = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "frozen", 3s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->reason, "LeaseExpired");
  EXPECT_EQ(exited->exit_code, 128 + SIGKILL);
  // Commands of the old registration are refused until it registers again.
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("late", "exec sleep 60"), 1);
  const auto reg = coordinator_->accept_registration(2, {}, kLease.count());
  EXPECT_TRUE(reg.running.empty());
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("after", "exec sleep 60"), 2);
  EXPECT_TRUE(expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "after", 5s));
  for (const auto& envelope : coordinator_->received()) {
    if (envelope.header.kind == MessageKind::kReplicaStarted) {
      EXPECT_NE(coordinator_->body<protocol::ReplicaStarted>(envelope).uid, "late");
    }
  }
}

TEST_F(AgentEndToEndTest, ReregistersWithItsRunningReplicasWhenTheCoordinatorForgetsIt) {
  start_agent();
  coordinator_->accept_registration(1);
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("keep", "exec sleep 30"), 1);
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("stale", "exec sleep 30"), 1);
  ASSERT_TRUE(expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "keep", 5s));
  ASSERT_TRUE(expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "stale", 5s));

  coordinator_->set_ack_heartbeats(false);
  auto heartbeat = coordinator_->expect(MessageKind::kHeartbeat, 3s);
  ASSERT_TRUE(heartbeat.has_value());
  coordinator_->send(MessageKind::kHeartbeatAck, protocol::HeartbeatAck{false}, 1);
  coordinator_->set_ack_heartbeats(true);

  // The new registration lists both replicas, and the coordinator fences one.
  const auto reg = coordinator_->accept_registration(2, {"stale"});
  std::vector<std::string> running;
  for (const auto& report : reg.running) {
    running.push_back(report.uid);
    EXPECT_EQ(report.epoch, 1);
    EXPECT_GT(report.pid, 0);
  }
  std::sort(running.begin(), running.end());
  EXPECT_EQ(running, (std::vector<std::string>{"keep", "stale"}));

  auto killed = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "stale", 3s);
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->reason, "Killed");
  EXPECT_EQ(killed->signal, SIGKILL);

  // Heartbeats now carry the new epoch and only the surviving replica.
  auto next = coordinator_->expect(MessageKind::kHeartbeat, 3s);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->header.epoch, 2u);
  EXPECT_EQ(coordinator_->body<protocol::Heartbeat>(*next).running,
            std::vector<std::string>{"keep"});

  // A late "unknown" answer to a heartbeat of the old epoch changes nothing.
  coordinator_->send(MessageKind::kHeartbeatAck, protocol::HeartbeatAck{false}, 1);
  EXPECT_FALSE(coordinator_->expect(MessageKind::kRegister, 1s).has_value());
}

TEST_F(AgentEndToEndTest, RegistersWithARestartedCoordinatorKeepingItsReplicas) {
  start_agent();
  coordinator_->accept_registration(1);
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("survivor", "exec sleep 30"), 1);
  ASSERT_TRUE(expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "survivor", 5s));

  // The coordinator dies and a new process binds the same port, knowing nobody.
  const std::string endpoint = coordinator_->endpoint();
  coordinator_.reset();
  coordinator_ = std::make_unique<FakeCoordinator>(server_keys_, endpoint);
  coordinator_->set_ack_heartbeats(false);
  auto heartbeat = coordinator_->expect(MessageKind::kHeartbeat, 5s);
  ASSERT_TRUE(heartbeat.has_value());
  coordinator_->send(MessageKind::kHeartbeatAck, protocol::HeartbeatAck{false},
                     heartbeat->header.epoch);

  const auto reg = coordinator_->accept_registration(2);
  ASSERT_EQ(reg.running.size(), 1u);
  EXPECT_EQ(reg.running[0].uid, "survivor");
}

TEST_F(AgentEndToEndTest, AMessageOverItsLimitDropsTheLinkAndTheAgentRegistersAgainAtOnce) {
  std::vector<std::string> args = agent_args();
  args.insert(args.end(), {"--max-message-bytes", "65536"});
  agent_ = std::make_unique<AgentProcess>(args, (dir_ / "agent.log").string());
  coordinator_->accept_registration(1);
  ASSERT_TRUE(coordinator_->expect(MessageKind::kHeartbeat, 3s).has_value());
  // A launch of 1 MB: ZeroMQ drops the connection rather than deliver it.
  auto huge = shell_replica("huge", "true");
  huge.env["BIG"] = std::string(1 << 20, 'x');
  const auto sent = Clock::now();
  coordinator_->send(MessageKind::kLaunchReplica, huge, 1);
  const auto again = coordinator_->accept_registration(2);
  EXPECT_LT(Clock::now() - sent, 3s) << "the agent went silent instead of registering again";
  EXPECT_EQ(again.name, "e2e-node");
  // And the link works: a normal launch under the new epoch runs.
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("small", "true"), 2);
  EXPECT_TRUE(expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "small", 5s));
}

TEST_F(AgentEndToEndTest, ReregistersWhenHeartbeatAcksStopComing) {
  start_agent();
  coordinator_->set_ack_heartbeats(false);
  const auto start = Clock::now();
  coordinator_->accept_registration(3);
  auto again = coordinator_->expect(MessageKind::kRegister, 9s);
  ASSERT_TRUE(again.has_value());
  EXPECT_GE(Clock::now() - start, 4500ms);
  // It kept heartbeating while it waited.
  const auto& received = coordinator_->received();
  EXPECT_GT(std::count_if(received.begin(), received.end(),
                          [](const auto& e) { return e.header.kind == MessageKind::kHeartbeat; }),
            10);
}

TEST_F(AgentEndToEndTest, StopsItsReplicasAndExitsCleanlyOnSigterm) {
  start_agent();
  coordinator_->accept_registration(1);
  coordinator_->send(MessageKind::kLaunchReplica, shell_replica("busy", "exec sleep 30"), 1);
  auto started = expect_for<protocol::ReplicaStarted>(MessageKind::kReplicaStarted, "busy", 5s);
  ASSERT_TRUE(started.has_value());

  agent_->signal(SIGTERM);
  auto exited = expect_for<protocol::ReplicaExited>(MessageKind::kReplicaExited, "busy", 5s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->reason, "Killed");
  coordinator_->send(MessageKind::kReplicaExitedAck, protocol::ReplicaExitedAck{"busy"}, 1);
  EXPECT_EQ(agent_->wait(5s), std::optional<int>(0));
  EXPECT_NE(::kill(static_cast<pid_t>(started->pid), 0), 0);  // the replica is gone
}

TEST_F(AgentEndToEndTest, RefusesABadFlagValueWithExitCodeTwo) {
  AgentProcess bad({"--insecure", "--cpus", "lots"}, (dir_ / "agent.log").string());
  EXPECT_EQ(bad.wait(5s), std::optional<int>(2));
  std::ifstream log(dir_ / "agent.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("--cpus"), std::string::npos);
  EXPECT_NE(text.str().find("lots"), std::string::npos);

  AgentProcess keyless({"--key", (dir_ / "missing.key").string(), "--server-key",
                        (dir_ / "coordinator.pub").string()},
                       (dir_ / "agent.log").string());
  EXPECT_EQ(keyless.wait(5s), std::optional<int>(2));
}

}  // namespace
}  // namespace cadre::agent

// The coordinator's ZeroMQ edge without actors: a real Gateway on 127.0.0.1, real
// DEALER sockets as agents and clients, and a recording Inbound in place of the
// actor system. Covers which kinds each port accepts, what a bad frame gets, and
// the ZAP handler's per-role allowlists with CURVE on.
#include "coordinator/gateway.h"

#include <gtest/gtest.h>

#include <fstream>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "coordinator/zap_handler.h"
#include "protocol/curve_keys.h"
#include "protocol/framing.h"
#include "tests/support/status_matchers.h"

namespace cadre::coordinator {
namespace {

using namespace std::chrono_literals;
using protocol::MessageKind;
namespace fs = std::filesystem;

// What reached the actors, one line per call ("apply <identity> <id>", ...).
class RecordingInbound : public actors::Inbound {
 public:
  void agent_register(const std::string& identity, uint64_t id,
                      protocol::RegisterRequest r) override {
    record("register " + r.name, identity);
  }
  void agent_heartbeat(const std::string& identity, uint64_t, protocol::Heartbeat b) override {
    record("heartbeat " + b.node, identity);
  }
  void replica_started(const std::string& node, uint64_t, protocol::ReplicaStarted s) override {
    record("started " + s.uid + " on " + node);
  }
  void replica_exited(const std::string& node, uint64_t, protocol::ReplicaExited e) override {
    record("exited " + e.uid + " on " + node);
  }
  void metrics(const std::string& node, uint64_t, protocol::MetricsReport r) override {
    record("metrics " + r.uid + " on " + node);
  }
  void logs_chunk(uint64_t reply_to, protocol::LogsChunk c) override {
    record("chunk " + std::to_string(reply_to));
  }
  void replica_files_removed(const std::string& node, protocol::ReplicaFilesRemoved d) override {
    record("files removed " + d.uid_prefix + " on " + node);
  }
  void replica_ready(const std::string& node, uint64_t, protocol::ReplicaReadiness r) override {
    record("ready " + r.uid + " " + (r.ready ? "true" : "false") + " on " + node);
  }
  void create_token(const actors::ClientRef& c, protocol::TokenCreateRequest r) override {
    record("token " + r.ns, c.identity);
  }
  void retry(const actors::ClientRef& c, protocol::RetryRequest r) override {
    record("retry " + r.name, c.identity);
  }
  void metrics_history(const actors::ClientRef& c, protocol::MetricsHistoryRequest r) override {
    record("metrics " + r.name, c.identity);
  }
  void cordon(const actors::ClientRef& c, protocol::CordonRequest r) override {
    record(std::string(r.cordon ? "cordon " : "uncordon ") + r.node, c.identity);
  }
  void suspend(const actors::ClientRef& c, protocol::SuspendRequest r) override {
    record(std::string(r.suspend ? "suspend " : "resume ") + r.resource + "/" + r.name +
               (c.ns.empty() ? "" : " ns=" + c.ns),
           c.identity);
  }
  void routes(const actors::ClientRef& c, protocol::RoutesRequest r) override {
    record("routes " + std::to_string(r.version), c.identity);
  }
  void apply(const actors::ClientRef& c, protocol::ApplyRequest r) override {
    record("apply " + std::to_string(c.request_id) + " " + r.manifest, c.identity);
  }
  void get(const actors::ClientRef& c, protocol::GetRequest r) override {
    record("get " + std::to_string(c.request_id) + " " + r.resource +
               (c.ns.empty() ? "" : " ns=" + c.ns),
           c.identity);
  }
  void remove(const actors::ClientRef& c, protocol::DeleteRequest r) override {
    record("delete " + r.name, c.identity);
  }
  void logs(const actors::ClientRef& c, protocol::LogsRequest r) override {
    record("logs " + r.name, c.identity);
  }

  // The next call within `timeout`, or "" if none came.
  std::string next(std::chrono::milliseconds timeout = 2s) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!arrived_.wait_for(lock, timeout, [&] { return !calls_.empty(); })) return "";
    std::string call = calls_.front();
    calls_.erase(calls_.begin());
    return call;
  }
  std::string last_identity() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_identity_;
  }

 private:
  void record(std::string call, const std::string& identity = "") {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      calls_.push_back(std::move(call));
      if (!identity.empty()) last_identity_ = identity;
    }
    arrived_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> calls_;  // guarded by mutex_
  std::string last_identity_;       // guarded by mutex_
};

protocol::RegisterRequest registration(const std::string& node) {
  protocol::RegisterRequest r;
  r.name = node;
  return r;
}

// No CURVE: the routing tests need no keys (ZapTest below runs with them).
GatewayOptions insecure(int64_t max_message_bytes = 64ll << 20) {
  GatewayOptions options;
  options.insecure = true;
  options.max_message_bytes = max_message_bytes;
  return options;
}

class GatewayTest : public ::testing::Test {
 protected:
  void start(GatewayOptions options) {
    options.bind_address = "127.0.0.1";
    options.agent_port = 0;
    options.client_port = 0;
    options.ingress_port = 0;
    auto created = Gateway::Create(context_, options);
    ASSERT_OK(created);
    gateway_ = std::move(*created);
    loop_ = std::thread([this] { gateway_->run(inbound_, stop_); });
  }
  void TearDown() override {
    stop_ = true;
    if (loop_.joinable()) loop_.join();
  }

  // A DEALER connected to the agent or client port, optionally with CURVE keys.
  zmq::socket_t peer(const std::string& endpoint, const protocol::KeyPair* keys = nullptr,
                     const std::string& server_public = "") {
    zmq::socket_t s(context_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    if (keys != nullptr) {
      EXPECT_OK(protocol::make_curve_client(s, *keys, server_public));
    }
    s.connect(endpoint);
    return s;
  }
  template <typename T>
  void send(zmq::socket_t& s, MessageKind kind, const T& body, uint64_t id = 7) {
    protocol::Header h;
    h.kind = kind;
    h.id = id;
    ASSERT_OK(protocol::send_envelope(s, "", false, h, protocol::encode(body)));
  }
  // Binds `node` to the agent connection that last registered, as the registry does,
  // and returns once the route is in place: the outbox is FIFO, so a message sent
  // to the node by name after the route arrives only once the route is set.
  void bind_route(zmq::socket_t& agent, const std::string& node) {
    gateway_->outbox()->set_agent_route(node, inbound_.last_identity());
    gateway_->outbox()->agent(node, 1, MessageKind::kHeartbeatAck, protocol::HeartbeatAck{});
    ASSERT_EQ(reply(agent).first, MessageKind::kHeartbeatAck);
  }

  // The next reply on `s`: its kind and, for errors, the message.
  std::pair<MessageKind, std::string> reply(zmq::socket_t& s,
                                            std::chrono::milliseconds wait = 2000ms) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, wait);  // recv_envelope does not wait
    auto envelope = protocol::recv_envelope(s, false, protocol::DecodeLimits{});
    if (!envelope.ok()) return {MessageKind::kInvalid, envelope.status().message()};
    std::string text;
    if (envelope->header.kind == MessageKind::kError) {
      auto e = protocol::decode_body<protocol::ErrorReply>(*envelope, protocol::DecodeLimits{});
      if (e.ok()) text = e->message;
    }
    return {envelope->header.kind, text};
  }

  zmq::context_t context_;
  RecordingInbound inbound_;
  std::unique_ptr<Gateway> gateway_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

TEST_F(GatewayTest, ClientRequestsReachTheActorsWithTheirRequestId) {
  start(insecure());
  auto client = peer(gateway_->client_endpoint());
  send(client, MessageKind::kApply, protocol::ApplyRequest{"kind: Job"}, 41);
  EXPECT_EQ(inbound_.next(), "apply 41 kind: Job");
  send(client, MessageKind::kGet, protocol::GetRequest{"nodes", ""}, 42);
  EXPECT_EQ(inbound_.next(), "get 42 nodes");
}

TEST_F(GatewayTest, ACordonFromAClientReachesTheActorsButNotFromAnAgent) {
  start(insecure());
  auto client = peer(gateway_->client_endpoint());
  send(client, MessageKind::kCordon, protocol::CordonRequest{"gpu-1", true});
  EXPECT_EQ(inbound_.next(), "cordon gpu-1");
  send(client, MessageKind::kCordon, protocol::CordonRequest{"gpu-1", false});
  EXPECT_EQ(inbound_.next(), "uncordon gpu-1");

  auto agent = peer(gateway_->agent_endpoint());
  send(agent, MessageKind::kRegister, registration("n1"));
  EXPECT_EQ(inbound_.next(), "register n1");
  bind_route(agent, "n1");
  send(agent, MessageKind::kCordon, protocol::CordonRequest{"n1", true});
  EXPECT_EQ(inbound_.next(300ms), "");
}

TEST_F(GatewayTest, ASuspendOrResumeFromAClientReachesTheActors) {
  start(insecure());
  auto client = peer(gateway_->client_endpoint());
  send(client, MessageKind::kSuspend, protocol::SuspendRequest{"trainjobs", "ring", true});
  EXPECT_EQ(inbound_.next(), "suspend trainjobs/ring");
  send(client, MessageKind::kSuspend, protocol::SuspendRequest{"jobs", "hello", false});
  EXPECT_EQ(inbound_.next(), "resume jobs/hello");
}

TEST_F(GatewayTest, AgentKindOnTheClientPortIsAnsweredWithAnErrorAndGoesNowhere) {
  start(insecure());
  auto client = peer(gateway_->client_endpoint());
  send(client, MessageKind::kRegister, registration("n1"));
  auto [kind, text] = reply(client);
  EXPECT_EQ(kind, MessageKind::kError);
  EXPECT_NE(text.find("Register is not accepted on the client port"), std::string::npos) << text;
  EXPECT_EQ(inbound_.next(200ms), "");
}

TEST_F(GatewayTest, AnIngresssApiCallRunsScopedToTheUsersNamespace) {
  start(insecure());
  auto ingress = peer(gateway_->ingress_endpoint());
  protocol::ApiRequest call;
  call.ns = "team-a";
  call.user = "6e3dba894f2f";
  call.verb = "get";
  call.get.resource = "jobs";
  send(ingress, MessageKind::kApi, call);
  const std::string got = inbound_.next();
  EXPECT_EQ(got.rfind("get ", 0), 0u) << got;
  EXPECT_NE(got.find("jobs ns=team-a"), std::string::npos) << got;
  // Without a namespace it would be an operator's request: refused.
  call.ns.clear();
  send(ingress, MessageKind::kApi, call);
  auto [kind, text] = reply(ingress);
  EXPECT_EQ(kind, MessageKind::kError);
  EXPECT_NE(text.find("needs the user's namespace"), std::string::npos) << text;
  call.ns = "team-a";
  call.verb = "suspend";
  call.suspend = protocol::SuspendRequest{"trainjobs", "ring", true};
  send(ingress, MessageKind::kApi, call);
  EXPECT_EQ(inbound_.next(), "suspend trainjobs/ring ns=team-a");
  call.verb = "shutdown";
  send(ingress, MessageKind::kApi, call);
  EXPECT_NE(reply(ingress).second.find("unknown API verb 'shutdown'"), std::string::npos);
  EXPECT_EQ(inbound_.next(200ms), "");
  // The client port does not take it: only an ingress may speak for a user.
  auto client = peer(gateway_->client_endpoint());
  call.verb = "get";
  send(client, MessageKind::kApi, call);
  EXPECT_EQ(reply(client).first, MessageKind::kError);
  EXPECT_EQ(inbound_.next(200ms), "");
}

TEST_F(GatewayTest, TheIngressPortServesRoutePollsAndNothingElse) {
  start(insecure());
  auto ingress = peer(gateway_->ingress_endpoint());
  send(ingress, MessageKind::kApply, protocol::ApplyRequest{"kind: Job"});
  auto [kind, text] = reply(ingress);
  EXPECT_EQ(kind, MessageKind::kError);
  EXPECT_NE(text.find("Apply is not accepted on the ingress port"), std::string::npos) << text;
  EXPECT_EQ(inbound_.next(200ms), "");
  send(ingress, MessageKind::kRoutes, protocol::RoutesRequest{5, "http://x", {}, {}, {}});
  EXPECT_EQ(inbound_.next(), "routes 5");
  // And the client port does not serve route polls.
  auto client = peer(gateway_->client_endpoint());
  send(client, MessageKind::kRoutes, protocol::RoutesRequest{5, "http://x", {}, {}, {}});
  EXPECT_EQ(reply(client).first, MessageKind::kError);
}

TEST_F(GatewayTest, MalformedClientFrameGetsAnErrorAndTheNextRequestIsServed) {
  start(insecure());
  auto client = peer(gateway_->client_endpoint());
  client.send(zmq::str_buffer("\xc1not msgpack"), zmq::send_flags::sndmore);
  client.send(zmq::str_buffer("body"), zmq::send_flags::none);
  EXPECT_EQ(reply(client).first, MessageKind::kError);
  send(client, MessageKind::kGet, protocol::GetRequest{"jobs", ""}, 43);
  EXPECT_EQ(inbound_.next(), "get 43 jobs");
  EXPECT_GE(gateway_->rejected(), 1u);
}

TEST_F(GatewayTest, ReportsCarryTheNodeNameOnlyOnceTheConnectionIsRegistered) {
  start(insecure());
  auto agent = peer(gateway_->agent_endpoint());
  protocol::ReplicaStarted started;
  started.uid = "job-main-0-0";
  send(agent, MessageKind::kReplicaStarted, started);
  EXPECT_EQ(inbound_.next(300ms), "") << "a report from an unregistered connection got through";

  send(agent, MessageKind::kRegister, registration("n1"));
  EXPECT_EQ(inbound_.next(), "register n1");
  // The registry binds the node to this connection, through the outbox.
  bind_route(agent, "n1");
  send(agent, MessageKind::kReplicaStarted, started);
  EXPECT_EQ(inbound_.next(), "started job-main-0-0 on n1");
}

TEST_F(GatewayTest, AFileRemovalAnswerReachesTheRegistryAsTheRegisteredNodesOwn) {
  start(insecure());
  auto agent = peer(gateway_->agent_endpoint());
  send(agent, MessageKind::kReplicaFilesRemoved, protocol::ReplicaFilesRemoved{"job-1-"});
  EXPECT_EQ(inbound_.next(300ms), "") << "an unregistered connection answered for a node";

  send(agent, MessageKind::kRegister, registration("n1"));
  EXPECT_EQ(inbound_.next(), "register n1");
  bind_route(agent, "n1");
  send(agent, MessageKind::kReplicaFilesRemoved, protocol::ReplicaFilesRemoved{"job-1-"});
  EXPECT_EQ(inbound_.next(), "files removed job-1- on n1");
}

TEST_F(GatewayTest, ClientKindOnTheAgentPortIsDropped) {
  start(insecure());
  auto agent = peer(gateway_->agent_endpoint());
  send(agent, MessageKind::kRegister, registration("n1"));
  EXPECT_EQ(inbound_.next(), "register n1");
  bind_route(agent, "n1");
  const uint64_t before = gateway_->rejected();
  send(agent, MessageKind::kApply, protocol::ApplyRequest{"kind: Job"});
  EXPECT_EQ(inbound_.next(300ms), "");
  EXPECT_EQ(gateway_->rejected(), before + 1);
}

TEST_F(GatewayTest, OutboxRepliesReachTheClientThatAsked) {
  start(insecure());
  auto client = peer(gateway_->client_endpoint());
  send(client, MessageKind::kGet, protocol::GetRequest{"jobs", ""}, 44);
  ASSERT_EQ(inbound_.next(), "get 44 jobs");
  gateway_->outbox()->client(actors::ClientRef{inbound_.last_identity(), 44, "", false},
                             MessageKind::kGetReply, protocol::GetReply{});
  EXPECT_EQ(reply(client).first, MessageKind::kGetReply);
}

TEST_F(GatewayTest, AClientThatDoesNotReadLosesRepliesInsteadOfGrowingTheCoordinator) {
  GatewayOptions options = insecure();
  options.client_send_queue = 4;
  start(options);
  auto client = peer(gateway_->client_endpoint());
  client.set(zmq::sockopt::rcvhwm, 1);  // its own queue full at once: it reads nothing
  send(client, MessageKind::kGet, protocol::GetRequest{"jobs", ""}, 44);
  ASSERT_EQ(inbound_.next(), "get 44 jobs");
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 300; ++i) {
    gateway_->outbox()->client(actors::ClientRef{inbound_.last_identity(), 44, "", false},
                               MessageKind::kError, protocol::ErrorReply{"Internal", big});
  }
  std::this_thread::sleep_for(1500ms);  // the gateway forwards, queues or drops them
  int received = 0;
  while (reply(client, 200ms).first == MessageKind::kError) ++received;
  // What the socket buffers and the 4-reply queue held; the rest was dropped.
  EXPECT_LT(received, 100) << "300 MiB of replies were queued for a client that does not read";
}

TEST_F(GatewayTest, OversizedFrameDropsThatConnectionOnly) {
  start(insecure(4096));
  auto big = peer(gateway_->client_endpoint());
  send(big, MessageKind::kApply, protocol::ApplyRequest{std::string(10000, 'x')});
  auto small = peer(gateway_->client_endpoint());
  send(small, MessageKind::kGet, protocol::GetRequest{"nodes", ""}, 45);
  EXPECT_EQ(inbound_.next(), "get 45 nodes") << "the oversized frame must not reach the actors";
}

// ---- the ZAP handler with CURVE on ----------------------------------------------

class ZapTest : public GatewayTest {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("zap-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    server_ = *protocol::generate_keypair();
    agent_ = *protocol::generate_keypair();
    client_ = *protocol::generate_keypair();
    ASSERT_OK(protocol::write_keypair((dir_ / "authorized/agents/n1").string(), agent_, "n1"));
    unbound_ = *protocol::generate_keypair();
    ASSERT_OK(protocol::write_keypair((dir_ / "authorized/agents/old").string(), unbound_));
    ASSERT_OK(protocol::write_keypair((dir_ / "authorized/clients/alice").string(), client_));
    ingress_ = *protocol::generate_keypair();
    fs::create_directories(dir_ / "authorized/ingresses");
    ASSERT_OK(protocol::write_keypair((dir_ / "authorized/ingresses/front").string(), ingress_));
    ZapOptions zap;
    zap.allowlist_dirs["agents"] = (dir_ / "authorized/agents").string();
    zap.allowlist_dirs["clients"] = (dir_ / "authorized/clients").string();
    zap.allowlist_dirs["ingresses"] = (dir_ / "authorized/ingresses").string();
    auto handler = ZapHandler::Create(context_, zap);
    ASSERT_OK(handler);
    zap_ = std::move(*handler);
    GatewayOptions options;
    options.server_keys = server_;
    options.keys = zap_.get();
    start(options);
  }
  void TearDown() override {
    GatewayTest::TearDown();
    zap_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Whether a Get sent with `keys` to the client port reaches the actors.
  bool client_port_admits(const protocol::KeyPair& keys, uint64_t id) {
    auto s = peer(gateway_->client_endpoint(), &keys, server_.public_key);
    send(s, MessageKind::kGet, protocol::GetRequest{"nodes", ""}, id);
    return inbound_.next(1s) == "get " + std::to_string(id) + " nodes";
  }

  static inline int counter_ = 0;
  fs::path dir_;
  // Whether a route poll sent with `keys` to the ingress port reaches the actors.
  bool ingress_port_admits(const protocol::KeyPair& keys, uint64_t version) {
    auto s = peer(gateway_->ingress_endpoint(), &keys, server_.public_key);
    send(s, MessageKind::kRoutes, protocol::RoutesRequest{version, "", {}, {}, {}});
    return inbound_.next(1s) == "routes " + std::to_string(version);
  }

  protocol::KeyPair server_, agent_, client_, unbound_, ingress_;
  std::unique_ptr<ZapHandler> zap_;
};

TEST_F(ZapTest, EachRolesKeyWorksOnlyOnItsOwnPort) {
  EXPECT_TRUE(client_port_admits(client_, 1));
  EXPECT_FALSE(client_port_admits(agent_, 2)) << "an agent key acted as a client";
  auto unknown = *protocol::generate_keypair();
  EXPECT_FALSE(client_port_admits(unknown, 3));

  auto as_agent = peer(gateway_->agent_endpoint(), &client_, server_.public_key);
  send(as_agent, MessageKind::kRegister, registration("n1"));
  EXPECT_EQ(inbound_.next(1s), "") << "a client key registered as an agent";
  auto agent = peer(gateway_->agent_endpoint(), &agent_, server_.public_key);
  send(agent, MessageKind::kRegister, registration("n1"));
  EXPECT_EQ(inbound_.next(), "register n1");
}

TEST_F(ZapTest, OnlyAnIngressKeyGetsRoutesAndItCannotActAsAClient) {
  EXPECT_TRUE(ingress_port_admits(ingress_, 1));
  EXPECT_FALSE(ingress_port_admits(client_, 2)) << "a client key read the routes and tokens";
  EXPECT_FALSE(ingress_port_admits(agent_, 3)) << "an agent key read the routes and tokens";
  EXPECT_FALSE(client_port_admits(ingress_, 4)) << "an ingress key acted as a client";
}

TEST_F(ZapTest, RemovedKeyIsRefusedOnItsNextConnectionWithoutARestart) {
  EXPECT_TRUE(client_port_admits(client_, 1));
  fs::remove(dir_ / "authorized/clients/alice.pub");
  std::this_thread::sleep_for(1200ms);  // the allowlist is rescanned at most once a second
  EXPECT_FALSE(client_port_admits(client_, 2));
}

TEST_F(ZapTest, ARevokedKeysOpenConnectionIsRefusedFromItsNextMessage) {
  auto client = peer(gateway_->client_endpoint(), &client_, server_.public_key);
  send(client, MessageKind::kGet, protocol::GetRequest{"nodes", ""}, 1);
  ASSERT_EQ(inbound_.next(1s), "get 1 nodes");
  fs::remove(dir_ / "authorized/clients/alice.pub");
  std::this_thread::sleep_for(1200ms);
  send(client, MessageKind::kGet, protocol::GetRequest{"nodes", ""}, 2);
  const auto [kind, text] = reply(client);
  EXPECT_EQ(kind, MessageKind::kError);
  EXPECT_NE(text.find("no longer allowed"), std::string::npos) << text;
  EXPECT_EQ(inbound_.next(300ms), "") << "a revoked key's request reached the actors";
}

TEST_F(ZapTest, AnAgentKeyRegistersOnlyUnderTheNodeNameItIsBoundTo) {
  auto agent = peer(gateway_->agent_endpoint(), &agent_, server_.public_key);
  send(agent, MessageKind::kRegister, registration("n2"));
  const auto [kind, text] = reply(agent);
  EXPECT_EQ(kind, MessageKind::kError) << "the impostor is told why";
  EXPECT_NE(text.find("may register only as node 'n1', not 'n2'"), std::string::npos) << text;
  EXPECT_EQ(inbound_.next(300ms), "") << "registered under a foreign name";
  send(agent, MessageKind::kRegister, registration("n1"));
  EXPECT_EQ(inbound_.next(), "register n1");
}

TEST_F(ZapTest, AnAgentKeyBoundToNoNodeCannotRegister) {
  auto agent = peer(gateway_->agent_endpoint(), &unbound_, server_.public_key);
  send(agent, MessageKind::kRegister, registration("n1"));
  const auto [kind, text] = reply(agent);
  EXPECT_EQ(kind, MessageKind::kError);
  EXPECT_NE(text.find("cadre keys generate --node"), std::string::npos) << text;
  EXPECT_EQ(inbound_.next(300ms), "");
}

TEST_F(ZapTest, AClientKeyScopedInItsPubFileCarriesItsNamespaceToTheActors) {
  auto scoped = *protocol::generate_keypair();
  std::ofstream(dir_ / "authorized/clients/bob.pub")
      << "public = " << scoped.public_key << "\nnamespace = team-a\n";
  std::this_thread::sleep_for(1200ms);  // the allowlist is rescanned at most once a second
  auto s = peer(gateway_->client_endpoint(), &scoped, server_.public_key);
  send(s, MessageKind::kGet, protocol::GetRequest{"jobs", ""}, 7);
  EXPECT_EQ(inbound_.next(1s), "get 7 jobs ns=team-a");
  EXPECT_TRUE(client_port_admits(client_, 8));  // unscoped keys stay unscoped
}

TEST_F(ZapTest, AnIssuedClientKeyActsInItsNamespaceUntilRevoked) {
  auto issued = *protocol::generate_keypair();
  EXPECT_FALSE(client_port_admits(issued, 1));
  zap_->allow(issued.public_key, "team-b");
  auto s = peer(gateway_->client_endpoint(), &issued, server_.public_key);
  send(s, MessageKind::kGet, protocol::GetRequest{"jobs", ""}, 2);
  EXPECT_EQ(inbound_.next(1s), "get 2 jobs ns=team-b");
  zap_->revoke(issued.public_key);
  send(s, MessageKind::kGet, protocol::GetRequest{"jobs", ""}, 3);
  EXPECT_EQ(inbound_.next(300ms), "") << "a revoked key's open connection still acted";
  zap_->allow(issued.public_key, "");  // an issued key without a namespace is never allowed
  EXPECT_FALSE(client_port_admits(issued, 4));
}

TEST_F(ZapTest, RefusedConnectionsAreCounted) {
  const uint64_t before = zap_->refused();
  auto unknown = *protocol::generate_keypair();
  for (uint64_t id = 1; id <= 3; ++id) EXPECT_FALSE(client_port_admits(unknown, id));
  EXPECT_GE(zap_->refused(), before + 1);
}

}  // namespace
}  // namespace cadre::coordinator

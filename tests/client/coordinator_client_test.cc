// CoordinatorClient against an in-process stand-in for the coordinator's client
// port: a CURVE ROUTER socket and a ZAP handler holding a one-key allowlist.
#include "client/coordinator_client.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "protocol/curve_keys.h"
#include "tests/support/status_matchers.h"

namespace cadre::client {
namespace {

using protocol::MessageKind;

// How the stand-in answers each request it receives.
enum class Behaviour { kAnswer, kError, kStaleThenAnswer };

class FakeCoordinatorPort {
 public:
  FakeCoordinatorPort(protocol::KeyPair server, std::string allowed_client_key, Behaviour behaviour)
      : server_(std::move(server)),
        allowed_(std::move(allowed_client_key)),
        behaviour_(behaviour),
        router_(context_, zmq::socket_type::router),
        zap_(context_, zmq::socket_type::rep) {
    zap_.bind("inproc://zeromq.zap.01");  // libzmq asks this address to authenticate
    router_.set(zmq::sockopt::linger, 0);
    EXPECT_OK(protocol::make_curve_server(router_, server_, "clients"));
    router_.bind("tcp://127.0.0.1:*");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeCoordinatorPort() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  void serve() {
    while (!stop_) {
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                                 {zap_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(20));
      if (items[1].revents & ZMQ_POLLIN) authenticate();
      if (items[0].revents & ZMQ_POLLIN) answer();
    }
  }

  // ZAP (RFC 27): frames version, request id, domain, address, identity, mechanism,
  // then the client's 32-byte public key for CURVE.
  void authenticate() {
    std::vector<zmq::message_t> request;
    while (true) {
      zmq::message_t part;
      (void)zap_.recv(part);
      const bool more = part.more();
      request.push_back(std::move(part));
      if (!more) break;
    }
    char z85[41] = {};
    zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), 32);
    const bool ok = allowed_ == z85;
    const std::vector<std::string> reply = {
        "1.0", request[1].to_string(), ok ? "200" : "400", ok ? "OK" : "unknown key", "", ""};
    for (size_t i = 0; i < reply.size(); ++i) {
      zap_.send(zmq::buffer(reply[i]),
                i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  void answer() {
    auto envelope = protocol::recv_envelope(router_, true, protocol::DecodeLimits{});
    ASSERT_OK(envelope);
    protocol::Header reply;
    reply.reply_to = envelope->header.id;
    if (behaviour_ == Behaviour::kError) {
      reply.kind = MessageKind::kError;
      send(reply, protocol::encode(protocol::ErrorReply{"NotFound", "job nope not found"}),
           envelope->identity);
      return;
    }
    protocol::GetReply body;
    body.nodes.push_back(protocol::NodeStatus{});
    body.nodes[0].name = "local-1";
    reply.kind = MessageKind::kGetReply;
    if (behaviour_ == Behaviour::kStaleThenAnswer) {
      protocol::Header stale = reply;
      stale.reply_to = envelope->header.id + 1000;
      protocol::GetReply wrong;
      send(stale, protocol::encode(wrong), envelope->identity);
    }
    send(reply, protocol::encode(body), envelope->identity);
  }

  void send(const protocol::Header& header, const std::string& body, const std::string& to) {
    EXPECT_OK(protocol::send_envelope(router_, to, true, header, body));
  }

  protocol::KeyPair server_;
  std::string allowed_;
  Behaviour behaviour_;
  zmq::context_t context_;
  zmq::socket_t router_;
  zmq::socket_t zap_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class CoordinatorClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("cadre-client-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    server_ = *protocol::generate_keypair();
    client_ = *protocol::generate_keypair();
    ASSERT_OK(protocol::write_keypair((dir_ / "server").string(), server_));
    ASSERT_OK(protocol::write_keypair((dir_ / "client").string(), client_));
    ASSERT_OK(protocol::write_keypair((dir_ / "stranger").string(), *protocol::generate_keypair()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CoordinatorClientOptions options(const std::string& endpoint, const std::string& key = "client",
                                   const std::string& server_key = "server") {
    CoordinatorClientOptions o;
    o.endpoint = endpoint;
    o.server_key_file = (dir_ / (server_key + ".pub")).string();
    o.key_file = (dir_ / (key + ".key")).string();
    o.timeout = std::chrono::milliseconds(3000);
    return o;
  }

  std::filesystem::path dir_;
  protocol::KeyPair server_, client_;
};

TEST_F(CoordinatorClientTest, GetsTheReplyToItsRequest) {
  FakeCoordinatorPort port(server_, client_.public_key, Behaviour::kAnswer);
  auto client = CoordinatorClient::Create(options(port.endpoint()));
  ASSERT_OK(client);
  for (int i = 0; i < 3; ++i) {
    auto reply = (*client)->get(protocol::GetRequest{"nodes", ""});
    ASSERT_OK(reply);
    ASSERT_EQ(reply->nodes.size(), 1u);
    EXPECT_EQ(reply->nodes[0].name, "local-1");
  }
}

TEST_F(CoordinatorClientTest, SkipsRepliesThatAnswerAnotherRequest) {
  FakeCoordinatorPort port(server_, client_.public_key, Behaviour::kStaleThenAnswer);
  auto client = CoordinatorClient::Create(options(port.endpoint()));
  auto reply = (*client)->get(protocol::GetRequest{"nodes", ""});
  ASSERT_OK(reply);
  EXPECT_EQ(reply->nodes.size(), 1u);
}

TEST_F(CoordinatorClientTest, TurnsAnErrorReplyIntoItsCodeAndMessage) {
  FakeCoordinatorPort port(server_, client_.public_key, Behaviour::kError);
  auto client = CoordinatorClient::Create(options(port.endpoint()));
  auto reply = (*client)->get(protocol::GetRequest{"jobs", "nope"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reply.status().message(), "job nope not found");
}

TEST_F(CoordinatorClientTest, ReportsAKeyOutsideTheAllowlistAtOnce) {
  FakeCoordinatorPort port(server_, client_.public_key, Behaviour::kAnswer);
  auto client = CoordinatorClient::Create(options(port.endpoint(), "stranger"));
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*client)->get(protocol::GetRequest{"nodes", ""});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(reply.status().message().find("refused this client's key"), std::string::npos);
  EXPECT_NE(reply.status().message().find("stranger.key"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
}

TEST_F(CoordinatorClientTest, ReportsAWrongServerKeyAsAFailedHandshake) {
  FakeCoordinatorPort port(server_, client_.public_key, Behaviour::kAnswer);
  auto client = CoordinatorClient::Create(options(port.endpoint(), "client", "stranger"));
  auto reply = (*client)->get(protocol::GetRequest{"nodes", ""});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kPermissionDenied) << reply.status().to_string();
  EXPECT_NE(reply.status().message().find("stranger.pub"), std::string::npos);
}

TEST_F(CoordinatorClientTest, SaysNobodyAnswersWhenNothingListens) {
  auto o = options("tcp://127.0.0.1:1");
  o.timeout = std::chrono::milliseconds(200);
  auto client = CoordinatorClient::Create(o);
  ASSERT_OK(client);
  auto reply = (*client)->get(protocol::GetRequest{"nodes", ""});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().message(),
            "no answer from coordinator at tcp://127.0.0.1:1: is it running?");
}

TEST_F(CoordinatorClientTest, RefusesToStartWithoutItsKeyFiles) {
  auto client = CoordinatorClient::Create(options("tcp://127.0.0.1:1", "missing"));
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("missing.key"), std::string::npos);
}

TEST(StatusCodeFromName, RoundTripsEveryCodeAndGeneralisesUnknownOnes) {
  for (StatusCode code : {StatusCode::kInvalidArgument, StatusCode::kNotFound,
                          StatusCode::kPermissionDenied, StatusCode::kInternal}) {
    EXPECT_EQ(status_code_from_name(status_code_name(code)), code);
  }
  EXPECT_EQ(status_code_from_name("Bogus"), StatusCode::kInternal);
}

}  // namespace
}  // namespace cadre::client

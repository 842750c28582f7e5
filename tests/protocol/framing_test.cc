#include "protocol/framing.h"

#include <gtest/gtest.h>

#include "protocol/curve_keys.h"
#include "tests/support/status_matchers.h"

namespace cadre::protocol::framing_test {
namespace {

// A ROUTER/DEALER pair over inproc, as the coordinator and an agent use them.
struct Pair {
  zmq::context_t ctx;
  zmq::socket_t router{ctx, zmq::socket_type::router};
  zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
  Pair() {
    router.bind("inproc://framing");
    dealer.connect("inproc://framing");
  }
  Result<Envelope> receive(std::string* identity = nullptr) {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(2000));
    return recv_envelope(router, true, DecodeLimits{}, identity);
  }
};

TEST(Framing, DeliversHeaderAndBodyWithTheSendersIdentity) {
  Pair pair;
  Header header;
  header.kind = MessageKind::kHeartbeat;
  header.id = 7;
  ASSERT_OK(send_envelope(pair.dealer, "", false, header, encode(Heartbeat{"n1", {"u"}})));
  auto envelope = pair.receive();
  ASSERT_OK(envelope);
  EXPECT_FALSE(envelope->identity.empty());
  EXPECT_EQ(envelope->header.id, 7u);
  auto body = decode_body<Heartbeat>(*envelope, DecodeLimits{});
  ASSERT_OK(body);
  EXPECT_EQ(body->node, "n1");
}

TEST(Framing, WrongPartCountIsAnErrorThatStillNamesTheSender) {
  Pair pair;
  pair.dealer.send(zmq::str_buffer("only-one-part"), zmq::send_flags::none);
  std::string identity;
  auto envelope = pair.receive(&identity);
  ASSERT_FALSE(envelope.ok());
  EXPECT_FALSE(identity.empty());
  // The socket is still usable afterwards: the bad message was fully drained.
  Header header;
  header.kind = MessageKind::kGet;
  ASSERT_OK(send_envelope(pair.dealer, "", false, header, encode(GetRequest{"nodes", ""})));
  EXPECT_OK(pair.receive());
}

TEST(Framing, GarbageHeaderIsRefused) {
  Pair pair;
  pair.dealer.send(zmq::str_buffer("\xc1\xc1"), zmq::send_flags::sndmore);
  pair.dealer.send(zmq::str_buffer("body"), zmq::send_flags::none);
  EXPECT_FALSE(pair.receive().ok());
}

TEST(CurveKeys, GeneratedPairsSurviveTheirFiles) {
  auto pair = generate_keypair();
  ASSERT_OK(pair);
  const std::string prefix = ::testing::TempDir() + "/curve_keys_test/node";
  ASSERT_OK(write_keypair(prefix, *pair));
  auto loaded = read_keypair(prefix + ".key");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->secret_key, pair->secret_key);
  EXPECT_EQ(read_public_key(prefix + ".pub").value(), pair->public_key);
  EXPECT_FALSE(read_keypair(prefix + ".pub").ok());
  EXPECT_FALSE(read_keypair(prefix + ".missing").ok());
}

}  // namespace
}  // namespace cadre::protocol::framing_test

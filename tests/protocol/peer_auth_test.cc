#include "protocol/peer_auth.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <random>
#include <thread>

#include "tests/support/status_matchers.h"

namespace cadre::protocol::peer_auth_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

JobCredentials credentials(const std::string& token) { return *JobCredentials::FromToken(token); }

const std::string kToken = "0123456789abcdef0123456789abcdef";
const std::string kOtherToken = "fedcba9876543210fedcba9876543210";

// A listening TCP socket on 127.0.0.1 and a way to connect to it.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 4096), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd); }
  int connect() const {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return c;
  }
  int fd = -1;
  int port = 0;
};

TEST(JobCredentials, EveryReplicaDerivesTheSameKeysAndEachJobAndRoleItsOwn) {
  const auto a = credentials(kToken).curve_keys("ps-0");
  EXPECT_EQ(a.public_key, credentials(kToken).curve_keys("ps-0").public_key);
  EXPECT_EQ(a.secret_key, credentials(kToken).curve_keys("ps-0").secret_key);
  EXPECT_TRUE(is_z85_key(a.public_key) && is_z85_key(a.secret_key));
  EXPECT_NE(a.public_key, credentials(kToken).curve_keys("ps-1").public_key);
  EXPECT_NE(a.public_key, credentials(kOtherToken).curve_keys("ps-0").public_key);
  EXPECT_NE(a.public_key, a.secret_key);
}

TEST(JobCredentials, RefusesAShortTokenAndMakesLongRandomOnes) {
  EXPECT_FALSE(JobCredentials::FromToken("short").ok());
  const std::string t1 = new_job_token(), t2 = new_job_token();
  EXPECT_EQ(t1.size(), 64u);
  EXPECT_NE(t1, t2);
}

TEST(ServerHandshake, NeverAuthenticatesGarbageAndNeverTakesMoreThanItWants) {
  const auto creds = credentials(kToken);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    ServerHandshake server(creds, "ring");
    const size_t total = rng() % 200;
    std::string bytes(total, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    size_t at = 0;
    while (at < bytes.size() && server.wanted() > 0) {
      const size_t chunk = std::min<size_t>(1 + rng() % 40, server.wanted());
      (void)server.consume(std::string_view(bytes).substr(at, chunk));
      at += std::min(chunk, bytes.size() - at);
    }
    EXPECT_NE(server.state(), ServerHandshake::State::kAuthenticated) << "trial " << trial;
  }
}

TEST(ServerHandshake, ARecordedClientProofDoesNotOpenANewHandshake) {
  const auto creds = credentials(kToken);
  const std::string nonce_c(kAuthNonceBytes, 'n');
  ServerHandshake first(creds, "ring");
  const std::string answer = first.consume(nonce_c);
  ASSERT_EQ(answer.size(), kAuthNonceBytes + kAuthMacBytes);
  // The genuine proof for this exchange, as a client holding the token computes it.
  const std::string proof =
      creds.mac("cadre-peer-auth/1|ring|C|" + nonce_c + answer.substr(0, kAuthNonceBytes));
  (void)first.consume(proof);
  ASSERT_EQ(first.state(), ServerHandshake::State::kAuthenticated);

  ServerHandshake replayed(creds, "ring");
  (void)replayed.consume(nonce_c);
  (void)replayed.consume(proof);  // fresh server nonce: the old proof no longer fits
  EXPECT_EQ(replayed.state(), ServerHandshake::State::kFailed);

  ServerHandshake other_channel(creds, "rsh");
  const std::string rsh_answer = other_channel.consume(nonce_c);
  EXPECT_NE(rsh_answer.substr(kAuthNonceBytes), answer.substr(kAuthNonceBytes));
}

TEST(AuthenticatedAcceptor, AcceptsAPeerWithTheJobsToken) {
  Listener listener;
  const auto creds = credentials(kToken);
  AuthenticatedAcceptor acceptor(listener.fd, creds, {"ring"});
  auto client = std::async(std::launch::async, [&] {
    const int fd = listener.connect();
    Status s = authenticate_to_server(fd, creds, "ring", Clock::now() + 5s);
    ::close(fd);
    return s;
  });
  auto accepted = acceptor.accept(Clock::now() + 5s);
  ASSERT_OK(accepted);
  ::close(*accepted);
  EXPECT_OK(client.get());
}

TEST(AuthenticatedAcceptor, APeerOfAnotherJobGetsNothingAndIsCounted) {
  Listener listener;
  const auto creds = credentials(kToken);
  AuthenticatedAcceptor acceptor(listener.fd, creds, {"ring", 2000ms});
  auto intruder = std::async(std::launch::async, [&] {
    const int fd = listener.connect();
    Status s = authenticate_to_server(fd, credentials(kOtherToken), "ring", Clock::now() + 5s);
    ::close(fd);
    return s;
  });
  auto accepted = acceptor.accept(Clock::now() + 700ms);
  EXPECT_FALSE(accepted.ok());
  const Status refused = intruder.get();
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.message();
  EXPECT_NE(refused.message().find("CADRE_JOB_TOKEN"), std::string::npos);

  // And the other way round: a server without the token cannot fool a client.
  Listener fake;
  auto fake_server = std::async(std::launch::async, [&] {
    const auto other = credentials(kOtherToken);
    AuthenticatedAcceptor a(fake.fd, other, {"ring"});
    (void)a.accept(Clock::now() + 2s);
  });
  const int fd = fake.connect();
  EXPECT_EQ(authenticate_to_server(fd, creds, "ring", Clock::now() + 2s).code(),
            StatusCode::kPermissionDenied);
  ::close(fd);
  fake_server.get();
}

TEST(AuthenticatedAcceptor, AThousandIdleConnectionsDoNotStopALegitimatePeer) {
  Listener listener;
  const auto creds = credentials(kToken);
  AuthenticatedAcceptor acceptor(listener.fd, creds, {"ring", 3000ms, 256});
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(listener.connect());
  // Some send junk, some a partial nonce, most nothing at all.
  for (int i = 0; i < 100; ++i) (void)!::write(idle[i], "junk-junk-junk", 14);
  auto legit = std::async(std::launch::async, [&] {
    const int fd = listener.connect();
    Status s = authenticate_to_server(fd, creds, "ring", Clock::now() + 10s);
    ::close(fd);
    return s;
  });
  const auto started = Clock::now();
  auto accepted = acceptor.accept(Clock::now() + 10s);
  ASSERT_OK(accepted);
  ::close(*accepted);
  EXPECT_OK(legit.get());
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_GT(acceptor.refused(), 0u);
  for (int fd : idle) ::close(fd);
}

}  // namespace
}  // namespace cadre::protocol::peer_auth_test

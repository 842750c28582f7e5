#include "agent/port_check.h"
#include "tests/support/status_matchers.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cadre::agent {
namespace {

// A listening TCP socket on `host`:`port` (0: chosen by the kernel); closed on scope exit.
class Listener {
 public:
  explicit Listener(const char* host, int port = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host, &address.sin_addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(CheckPortFree, ReportsAPortWithAListenerAsInUseNamingThePort) {
  for (const char* host : {"0.0.0.0", "127.0.0.1"}) {
    Listener listener(host);
    const Status status = check_port_free(listener.port());
    EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << host;
    EXPECT_EQ(status.message(),
              "port " + std::to_string(listener.port()) + " is in use: Address already in use");
    // Once its owner closes it, the same port is free again.
    const int port = listener.port();
    listener.close();
    EXPECT_OK(check_port_free(port)) << host << ":" << port;
  }
}

TEST(CheckPortFree, LeavesTheFreePortItCheckedFree) {
  Listener probe("0.0.0.0");
  const int port = probe.port();
  probe.close();
  ASSERT_OK(check_port_free(port));
  ASSERT_OK(check_port_free(port));  // the check itself holds nothing open
  Listener again("0.0.0.0", port);   // and anyone may bind it afterwards
  EXPECT_EQ(again.port(), port);
}

TEST(CheckPortFree, RefusesNumbersThatAreNotTcpPorts) {
  for (int32_t port : {0, -1, 65536}) {
    EXPECT_EQ(check_port_free(port).code(), StatusCode::kInvalidArgument) << port;
  }
}

}  // namespace
}  // namespace cadre::agent

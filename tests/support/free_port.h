// A TCP port on 127.0.0.1 that nothing listens on, for tests that must name a
// port before the process that binds it starts.
//
// Ports come from [20000, 30000): below the kernel's ephemeral range (32768+),
// so no outgoing connection of a concurrent test can take the port between
// this check and the bind (which is how "bind to port 0, read it, close" made
// a coordinator fail with "Address already in use"), and below the agents'
// replica port ranges (30000+). Each port is handed out once per process.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <random>
#include <set>
#include <stdexcept>

namespace cadre::testing {

inline bool port_is_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

inline int free_port() {
  static std::mutex mu;
  static std::set<int> handed_out;
  static std::mt19937 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<int> pick(20000, 29999);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(rng);
    if (handed_out.count(port) == 0 && port_is_free(port)) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free port in [20000, 30000) after 1000 tries");
}

}  // namespace cadre::testing

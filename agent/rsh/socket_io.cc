#include "agent/rsh/socket_io.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace cadre::agent::rsh {
namespace {

std::string errno_text(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// Milliseconds left until the deadline, for poll(); 0 once it has passed.
int millis_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

// Errors a peer that is still starting up produces; worth another try.
bool is_transient(int error) {
  return error == ECONNREFUSED || error == ENETUNREACH || error == EHOSTUNREACH ||
         error == ETIMEDOUT || error == ECONNRESET;
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<Fd> listen_tcp(const std::string& address, int port, int backlog) {
  if (port < 0 || port > 65535) return InvalidArgument("port " + std::to_string(port));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument("listen address '" + address + "' is not an IPv4 address");
  }
  Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid()) return Internal(errno_text("socket"));
  const int on = 1;
  ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  const std::string where = address + ":" + std::to_string(port);
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Unavailable(errno_text(("bind(" + where + ")").c_str()));
  }
  if (::listen(socket.get(), backlog) != 0) return Internal(errno_text("listen"));
  return socket;
}

Result<int> bound_port(const Fd& socket) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Internal(errno_text("getsockname"));
  }
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<Fd> connect_tcp(const std::string& host, int port, Clock::time_point deadline) {
  const std::string where = host + ":" + std::to_string(port);
  std::string last_error = "no attempt";
  while (true) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (rc != 0) {
      last_error = std::string("getaddrinfo: ") + ::gai_strerror(rc);
    } else {
      for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        Fd socket(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        if (!socket.valid()) {
          last_error = errno_text("socket");
          continue;
        }
        if (::connect(socket.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
          ::freeaddrinfo(found);
          const int on = 1;
          ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
          return socket;
        }
        last_error = errno_text("connect");
        if (!is_transient(errno)) {
          ::freeaddrinfo(found);
          return Unavailable(where + ": " + last_error);
        }
      }
      ::freeaddrinfo(found);
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Unavailable(where + ": " + last_error + " (gave up at the connect deadline)");
}

std::string peer_address(const Fd& socket) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(socket.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return std::string(host) + ":" + port;
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) {
      // stdout/stderr of the client: plain descriptors (SIGPIPE is ignored there).
      const ssize_t w = ::write(fd, bytes.data(), bytes.size());
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Unavailable(errno_text("write"));
      bytes.remove_prefix(static_cast<size_t>(w));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable(errno_text("send"));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<std::string> read_some(int fd, size_t max_bytes) {
  std::string buffer(max_bytes, '\0');
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable(errno_text("read"));
    buffer.resize(static_cast<size_t>(n));
    return buffer;
  }
}

Result<std::string> recv_frame(const Fd& socket, protocol::FrameDecoder& decoder,
                               Clock::time_point deadline) {
  while (true) {
    ASSIGN_OR_RETURN(std::optional<std::string> frame, decoder.next());
    if (frame) return std::move(*frame);
    pollfd pfd{socket.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, millis_until(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Internal(errno_text("poll"));
    if (ready == 0) return DeadlineExceeded("no complete frame before the deadline");
    ASSIGN_OR_RETURN(std::string bytes, read_some(socket.get(), 64u << 10));
    if (bytes.empty()) {
      if (decoder.buffered() == 0) return Unavailable("connection closed by the peer");
      return Unavailable("connection closed inside a frame (" + std::to_string(decoder.buffered()) +
                         " bytes of it received)");
    }
    decoder.append(bytes);
  }
}

}  // namespace cadre::agent::rsh

#include "training/collectives/socket.h"

#include "protocol/bind_address.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <thread>

#include "protocol/stream_framing.h"

namespace cadre::training::net {
namespace {

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

std::string errno_text() { return std::strerror(errno); }

// Waits until fd is ready for events; false on timeout.
Result<bool> wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return Internal(std::string("poll: ") + errno_text());
  }
}

}  // namespace

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Result<std::pair<std::string, int>> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return InvalidArgument("peer address '" + text + "': must be host:port");
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535)
    return InvalidArgument("peer address '" + text + "': port must be in [1, 65535]");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::make_pair(host, static_cast<int>(port));
}

namespace {

Result<Socket> listen_at(in_addr_t address, int port, const std::string& what) {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Internal("socket: " + errno_text());
  int one = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = address;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return Unavailable("bind " + what + ":" + std::to_string(port) + ": " + errno_text());
  if (::listen(s.fd(), 128) != 0) return Internal("listen: " + errno_text());
  return s;
}

}  // namespace

Result<Socket> listen_on(int port) { return listen_at(htonl(INADDR_ANY), port, "*"); }

Result<Socket> listen_on(const std::string& host, int port) {
  ASSIGN_OR_RETURN(const std::string address, protocol::bind_address_for(host));
  if (address == "*") return listen_on(port);
  in_addr parsed{};
  ::inet_pton(AF_INET, address.c_str(), &parsed);
  return listen_at(parsed.s_addr, port, host);
}

Result<Socket> adopt(Result<int> fd) {
  if (!fd.ok()) return fd.status();
  return Socket(*fd);
}

Result<int> local_port(const Socket& s) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return Internal("getsockname: " + errno_text());
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<Socket> connect_until(const std::string& host, int port, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) return Unavailable("resolve '" + host + "': " + gai_strerror(gai));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::string last_error = "no attempt";
  auto backoff = std::chrono::milliseconds(10);
  while (true) {
    Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Internal("socket: " + errno_text());
    if (::connect(s.fd(), res->ai_addr, res->ai_addrlen) == 0) {
      int one = 1;
      ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return s;
    }
    last_error = errno_text();
    if (Clock::now() + backoff >= deadline) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
  }
  return DeadlineExceeded("connect to " + host + ":" + std::to_string(port) +
                          ": peer never came (" + last_error + ")");
}

Result<Socket> accept_until(const Socket& listener, Clock::time_point deadline) {
  ASSIGN_OR_RETURN(bool ready, wait_for(listener.fd(), POLLIN, deadline));
  if (!ready) return DeadlineExceeded("accept: no peer connected before the timeout");
  Socket s(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!s.valid()) return Unavailable("accept: " + errno_text());
  int one = 1;
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return s;
}

Status write_all(const Socket& s, const void* data, size_t n, Clock::time_point deadline) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(s.fd(), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      p += w, n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return Unavailable("send: " + errno_text());
    ASSIGN_OR_RETURN(bool ready, wait_for(s.fd(), POLLOUT, deadline));
    if (!ready) return DeadlineExceeded("send: peer stopped reading before the timeout");
  }
  return Status::Ok();
}

Status read_all(const Socket& s, void* data, size_t n, Clock::time_point deadline) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::recv(s.fd(), p, n, MSG_DONTWAIT);
    if (r > 0) {
      p += r, n -= static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Unavailable("recv: peer closed the connection");
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return Unavailable("recv: " + errno_text());
    ASSIGN_OR_RETURN(bool ready, wait_for(s.fd(), POLLIN, deadline));
    if (!ready) return DeadlineExceeded("recv: peer sent nothing before the timeout");
  }
  return Status::Ok();
}

Status write_frame(const Socket& s, const std::string& payload, Clock::time_point deadline) {
  ASSIGN_OR_RETURN(std::string frame, protocol::encode_frame(payload, UINT32_MAX));
  return write_all(s, frame.data(), frame.size(), deadline);
}

Result<std::string> read_frame(const Socket& s, size_t max_bytes, Clock::time_point deadline) {
  char header[protocol::kFrameHeaderBytes];
  RETURN_IF_ERROR(read_all(s, header, sizeof header, deadline));
  auto n = protocol::frame_length(std::string_view(header, sizeof header), max_bytes);
  if (!n.ok()) return DataLoss(n.status().message());
  std::string payload(*n, '\0');
  RETURN_IF_ERROR(read_all(s, payload.data(), *n, deadline));
  return payload;
}

Status tune_for_bulk(const Socket& s) {
  int size = 4 << 20, one = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  ::setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const int flags = ::fcntl(s.fd(), F_GETFL, 0);
  if (flags < 0 || ::fcntl(s.fd(), F_SETFL, flags | O_NONBLOCK) != 0)
    return Internal("fcntl O_NONBLOCK: " + errno_text());
  return Status::Ok();
}

std::string host_identity() {
  char name[256] = {0};
  ::gethostname(name, sizeof(name) - 1);
  std::string boot_id;
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::getline(in, boot_id);
  return std::string(name) + "/" + boot_id;
}

}  // namespace cadre::training::net

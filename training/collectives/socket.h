// Small blocking-with-deadline TCP helpers shared by the ring backend, the
// master rendezvous and the NCCL bootstrap. Every wait is bounded by a deadline
// so a missing or dead peer surfaces as DeadlineExceeded or Unavailable.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "protocol/status.h"

namespace cadre::training::net {

using Clock = std::chrono::steady_clock;

// "host:port" -> (host, port); InvalidArgument naming the text otherwise.
Result<std::pair<std::string, int>> parse_host_port(const std::string& text);

// Owns a file descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept;
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Listens on all interfaces at port (0: an ephemeral port; see local_port()).
Result<Socket> listen_on(int port);
// Listens on the address protocol::bind_address_for(host) names: the node's
// advertised address, so a rank's port is not open on every interface.
Result<Socket> listen_on(const std::string& host, int port);
// Wraps an fd from protocol::AuthenticatedAcceptor.
Result<Socket> adopt(Result<int> fd);
Result<int> local_port(const Socket& s);
// Connects, retrying refused connections until the deadline (the peer may not
// be listening yet).
Result<Socket> connect_until(const std::string& host, int port, Clock::time_point deadline);
Result<Socket> accept_until(const Socket& listener, Clock::time_point deadline);

Status write_all(const Socket& s, const void* data, size_t n, Clock::time_point deadline);
Status read_all(const Socket& s, void* data, size_t n, Clock::time_point deadline);

// Length-prefixed frames (protocol/stream_framing.h), bounded by max_bytes.
Status write_frame(const Socket& s, const std::string& payload, Clock::time_point deadline);
Result<std::string> read_frame(const Socket& s, size_t max_bytes, Clock::time_point deadline);

// Sets O_NONBLOCK, TCP_NODELAY and large socket buffers for bulk transfer.
Status tune_for_bulk(const Socket& s);

// This machine's identity for "same host?" decisions: hostname + boot id.
std::string host_identity();

}  // namespace cadre::training::net

// The few TCP and descriptor helpers cadre-rsh needs: an owning Fd, listen and
// connect, and sending/receiving frames (protocol/stream_framing.h) with errors as values.
// Every descriptor is close-on-exec, so the commands a server runs inherit none.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/codec.h"
#include "protocol/exec_messages.h"
#include "protocol/status.h"
#include "protocol/stream_framing.h"

namespace cadre::agent::rsh {

using Clock = std::chrono::steady_clock;

// Owns a file descriptor; closes it when destroyed.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// Listens on address:port (port 0: an ephemeral port, see bound_port).
Result<Fd> listen_tcp(const std::string& address, int port, int backlog = 64);
Result<int> bound_port(const Fd& socket);

// Connects to host:port, retrying while the peer is not listening yet (refused,
// unreachable, name not yet resolvable) until the deadline. The error names the
// address and the last errno.
Result<Fd> connect_tcp(const std::string& host, int port, Clock::time_point deadline);

// "10.0.0.3:41234" for the remote end of a connected socket.
std::string peer_address(const Fd& socket);

// Writes every byte, retrying partial writes and EINTR; never raises SIGPIPE. A
// socket with SO_SNDTIMEO set fails here once a write blocks for that long.
Status write_all(int fd, std::string_view bytes);

// One read(): the bytes read, empty at EOF.
Result<std::string> read_some(int fd, size_t max_bytes);

// Sends `message` as one frame.
template <typename T>
Status send_message(const Fd& socket, const T& message) {
  ASSIGN_OR_RETURN(std::string frame,
                   protocol::encode_frame(protocol::encode(message), protocol::kMaxExecFrameBytes));
  return write_all(socket.get(), frame);
}

// Reads until `decoder` yields a frame. Unavailable when the peer closes first
// (naming a truncated frame), DeadlineExceeded when the deadline passes,
// InvalidArgument for a bad length prefix.
Result<std::string> recv_frame(const Fd& socket, protocol::FrameDecoder& decoder,
                               Clock::time_point deadline);

}  // namespace cadre::agent::rsh

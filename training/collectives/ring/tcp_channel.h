// Ring link directions over a TCP socket.
#pragma once

#include <vector>

#include "training/collectives/ring/channel.h"
#include "training/collectives/socket.h"

namespace cadre::training::ring {

class TcpSendChannel final : public SendChannel {
 public:
  explicit TcpSendChannel(const net::Socket* socket) : socket_(socket) {}
  Result<size_t> try_send(const char* data, size_t n) override;
  pollfd wait_fd() const override { return {socket_->fd(), POLLOUT, 0}; }
  bool spins() const override { return false; }

 private:
  const net::Socket* socket_;
};

class TcpRecvChannel final : public RecvChannel {
 public:
  explicit TcpRecvChannel(const net::Socket* socket) : socket_(socket), staging_(1 << 20) {}
  Result<size_t> try_recv(char* dst, size_t n, bool accumulate) override;
  pollfd wait_fd() const override { return {socket_->fd(), POLLIN, 0}; }
  bool spins() const override { return false; }

 private:
  const net::Socket* socket_;
  // Accumulating receives land here first; a float split across two reads waits
  // in the first carry_ bytes until its remaining bytes arrive.
  std::vector<char> staging_;
  size_t carry_ = 0;
};

}  // namespace cadre::training::ring

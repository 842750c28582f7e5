#include "training/collectives/ring/tcp_channel.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace cadre::training::ring {

Result<size_t> TcpSendChannel::try_send(const char* data, size_t n) {
  const ssize_t w = ::send(socket_->fd(), data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w >= 0) return static_cast<size_t>(w);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return size_t{0};
  return Unavailable(std::string("send to next rank: ") + std::strerror(errno));
}

Result<size_t> TcpRecvChannel::try_recv(char* dst, size_t n, bool accumulate) {
  if (!accumulate) {
    const ssize_t r = ::recv(socket_->fd(), dst, n, MSG_DONTWAIT);
    if (r > 0) return static_cast<size_t>(r);
    if (r == 0) return Unavailable("previous rank closed the connection mid-collective");
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return size_t{0};
    return Unavailable(std::string("recv from previous rank: ") + std::strerror(errno));
  }
  // Never read past this step's bytes: what follows belongs to the next step.
  const size_t want = std::min(n - carry_, staging_.size() - carry_);
  const ssize_t r = ::recv(socket_->fd(), staging_.data() + carry_, want, MSG_DONTWAIT);
  if (r == 0) return Unavailable("previous rank closed the connection mid-collective");
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return size_t{0};
    return Unavailable(std::string("recv from previous rank: ") + std::strerror(errno));
  }
  const size_t have = carry_ + static_cast<size_t>(r);
  const size_t floats = have / 4;
  float* out = reinterpret_cast<float*>(dst);
  const float* in = reinterpret_cast<const float*>(staging_.data());
#pragma omp simd
  for (size_t i = 0; i < floats; ++i) out[i] += in[i];
  carry_ = have - floats * 4;
  if (carry_) std::memmove(staging_.data(), staging_.data() + floats * 4, carry_);
  return floats * 4;
}

}  // namespace cadre::training::ring

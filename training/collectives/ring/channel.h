// One direction of a ring link: this rank to its next (SendChannel) or from its
// previous (RecvChannel). Both are non-blocking so one thread can drive sending
// and receiving of a pipelined collective at the same time. Implementations:
// tcp_channel.h (between hosts) and shm_channel.h (ranks on one host).
#pragma once

#include <poll.h>

#include <cstddef>

#include "protocol/status.h"

namespace cadre::training::ring {

class SendChannel {
 public:
  virtual ~SendChannel() = default;
  // Sends up to n bytes without blocking; returns how many were taken (maybe 0).
  virtual Result<size_t> try_send(const char* data, size_t n) = 0;
  // What to poll() on while waiting to send: a data socket (POLLOUT) for TCP, or
  // the control socket (POLLIN means the peer went away) for shared memory.
  virtual pollfd wait_fd() const = 0;
  virtual bool spins() const = 0;  // true: progress is made by polling memory
};

class RecvChannel {
 public:
  virtual ~RecvChannel() = default;
  // Receives up to n bytes into dst without blocking. With accumulate, dst holds
  // floats and the bytes are added into it; only whole floats are consumed then,
  // so the returned count is a multiple of 4.
  virtual Result<size_t> try_recv(char* dst, size_t n, bool accumulate) = 0;
  virtual pollfd wait_fd() const = 0;
  virtual bool spins() const = 0;
};

}  // namespace cadre::training::ring

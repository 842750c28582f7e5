// A single-producer single-consumer byte ring in POSIX shared memory, used for
// the link between two ranks on the same host: one memcpy in, and the receiver
// reduces straight out of shared memory (no socket, no kernel copy).
//
// Layout: a header with the producer's and consumer's monotonically increasing
// byte counters on separate cache lines, then `capacity` data bytes. The
// producer publishes with a release store of head; the consumer with tail.
// Liveness is not visible in memory, so each side also holds the TCP control
// socket of the link: readable (EOF) there means the peer is gone.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "training/collectives/ring/channel.h"
#include "training/collectives/socket.h"

namespace cadre::training::ring {

class ShmSegment {
 public:
  // Creates and maps a new segment; the name is for the peer to open.
  static Result<std::unique_ptr<ShmSegment>> Create(const std::string& name, size_t capacity);
  static Result<std::unique_ptr<ShmSegment>> Open(const std::string& name);
  ~ShmSegment();

  // Removes the name; the mappings stay valid until both sides unmap.
  void unlink();
  const std::string& name() const { return name_; }

  struct Header {
    alignas(64) std::atomic<uint64_t> head;  // bytes written, owned by the producer
    alignas(64) std::atomic<uint64_t> tail;  // bytes consumed, owned by the consumer
    alignas(64) uint64_t capacity;
    uint64_t magic;
  };
  Header* header() const { return reinterpret_cast<Header*>(base_); }
  char* data() const { return static_cast<char*>(base_) + sizeof(Header); }

 private:
  std::string name_;
  void* base_ = nullptr;
  size_t bytes_ = 0;
  bool owner_ = false;
};

class ShmSendChannel final : public SendChannel {
 public:
  ShmSendChannel(std::unique_ptr<ShmSegment> segment, const net::Socket* control)
      : segment_(std::move(segment)), control_(control) {}
  Result<size_t> try_send(const char* data, size_t n) override;
  pollfd wait_fd() const override { return {control_->fd(), POLLIN, 0}; }
  bool spins() const override { return true; }

 private:
  std::unique_ptr<ShmSegment> segment_;
  const net::Socket* control_;
};

class ShmRecvChannel final : public RecvChannel {
 public:
  ShmRecvChannel(std::unique_ptr<ShmSegment> segment, const net::Socket* control)
      : segment_(std::move(segment)), control_(control) {}
  Result<size_t> try_recv(char* dst, size_t n, bool accumulate) override;
  pollfd wait_fd() const override { return {control_->fd(), POLLIN, 0}; }
  bool spins() const override { return true; }

 private:
  std::unique_ptr<ShmSegment> segment_;
  const net::Socket* control_;
};

}  // namespace cadre::training::ring

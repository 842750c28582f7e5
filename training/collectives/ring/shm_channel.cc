#include "training/collectives/ring/shm_channel.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cadre::training::ring {
namespace {

constexpr uint64_t kMagic = 0x43414452454d5348ull;  // "CADREMSH"
// MAP_POPULATE maps every page up front. Otherwise each side takes a minor
// fault on each new page until the ring has wrapped once: with 4 KiB
// all-reduces that is the first ~1,000 calls, at ~4x their steady latency.
constexpr int kMapFlags = MAP_SHARED | MAP_POPULATE;

}  // namespace

Result<std::unique_ptr<ShmSegment>> ShmSegment::Create(const std::string& name, size_t capacity) {
  auto seg = std::make_unique<ShmSegment>();
  seg->name_ = name;
  seg->bytes_ = sizeof(Header) + capacity;
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return Unavailable("shm_open " + name + ": " + std::strerror(errno));
  seg->owner_ = true;
  // posix_fallocate reserves the pages now: a full /dev/shm then fails here as a
  // value instead of as SIGBUS on first touch.
  const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(seg->bytes_));
  if (rc != 0) {
    ::close(fd);
    seg->unlink();
    return Unavailable("reserving " + std::to_string(seg->bytes_) +
                       " bytes of shared memory: " + std::strerror(rc));
  }
  seg->base_ = ::mmap(nullptr, seg->bytes_, PROT_READ | PROT_WRITE, kMapFlags, fd, 0);
  ::close(fd);
  if (seg->base_ == MAP_FAILED) {
    seg->base_ = nullptr;
    seg->unlink();
    return Unavailable(std::string("mmap: ") + std::strerror(errno));
  }
  auto* h = new (seg->base_) Header();
  h->head.store(0, std::memory_order_relaxed);
  h->tail.store(0, std::memory_order_relaxed);
  h->capacity = capacity;
  h->magic = kMagic;
  return seg;
}

Result<std::unique_ptr<ShmSegment>> ShmSegment::Open(const std::string& name) {
  auto seg = std::make_unique<ShmSegment>();
  seg->name_ = name;
  const int fd = ::shm_open(name.c_str(), O_RDWR, 0600);
  if (fd < 0) return Unavailable("shm_open " + name + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(Header)) {
    ::close(fd);
    return DataLoss("shared memory segment " + name + " is too small");
  }
  seg->bytes_ = static_cast<size_t>(st.st_size);
  seg->base_ = ::mmap(nullptr, seg->bytes_, PROT_READ | PROT_WRITE, kMapFlags, fd, 0);
  ::close(fd);
  if (seg->base_ == MAP_FAILED) {
    seg->base_ = nullptr;
    return Unavailable(std::string("mmap: ") + std::strerror(errno));
  }
  if (seg->header()->magic != kMagic || seg->header()->capacity + sizeof(Header) != seg->bytes_)
    return DataLoss("shared memory segment " + name + " has a bad header");
  return seg;
}

ShmSegment::~ShmSegment() {
  if (base_) ::munmap(base_, bytes_);
  unlink();
}

void ShmSegment::unlink() {
  if (owner_) ::shm_unlink(name_.c_str());
  owner_ = false;
}

Result<size_t> ShmSendChannel::try_send(const char* src, size_t n) {
  auto* h = segment_->header();
  const uint64_t cap = h->capacity;
  const uint64_t head = h->head.load(std::memory_order_relaxed);
  const uint64_t tail = h->tail.load(std::memory_order_acquire);
  const size_t take = std::min<uint64_t>(n, cap - (head - tail));
  if (take == 0) return size_t{0};
  const size_t pos = head % cap;
  const size_t first = std::min<size_t>(take, cap - pos);
  std::memcpy(segment_->data() + pos, src, first);
  if (take > first) std::memcpy(segment_->data(), src + first, take - first);
  h->head.store(head + take, std::memory_order_release);
  return take;
}

Result<size_t> ShmRecvChannel::try_recv(char* dst, size_t n, bool accumulate) {
  auto* h = segment_->header();
  const uint64_t cap = h->capacity;
  const uint64_t tail = h->tail.load(std::memory_order_relaxed);
  const uint64_t head = h->head.load(std::memory_order_acquire);
  size_t take = std::min<uint64_t>(n, head - tail);
  if (accumulate) take &= ~size_t{3};
  if (take == 0) return size_t{0};
  const char* ring = segment_->data();
  if (!accumulate) {
    const size_t pos = tail % cap;
    const size_t first = std::min<size_t>(take, cap - pos);
    std::memcpy(dst, ring + pos, first);
    if (take > first) std::memcpy(dst + first, ring, take - first);
  } else {
    // Earlier odd-sized copies may leave floats unaligned in the ring, and one
    // may straddle the wrap: load with memcpy, assemble a straddler by hand.
    float* out = reinterpret_cast<float*>(dst);
    size_t done = 0;
    while (done < take) {
      const size_t pos = (tail + done) % cap;
      const size_t contiguous = cap - pos;
      if (contiguous >= 4) {
        const size_t floats = std::min(take - done, contiguous) / 4;
        const char* src = ring + pos;
        float* o = out + done / 4;
#pragma omp simd
        for (size_t i = 0; i < floats; ++i) {
          float v;
          std::memcpy(&v, src + 4 * i, 4);
          o[i] += v;
        }
        done += floats * 4;
      } else {
        char tmp[4];
        std::memcpy(tmp, ring + pos, contiguous);
        std::memcpy(tmp + contiguous, ring, 4 - contiguous);
        float v;
        std::memcpy(&v, tmp, 4);
        out[done / 4] += v;
        done += 4;
      }
    }
  }
  h->tail.store(tail + take, std::memory_order_release);
  return take;
}

}  // namespace cadre::training::ring

// The collective interface every data-parallel backend implements: ring (our own
// TCP / shared-memory ring), mpi (OpenMPI) and nccl (GPU buffers). Buffers are
// host memory for ring and mpi, device memory for nccl (see memory_device()).
//
// Collectives are blocking and must be entered by every rank in the same order,
// as with MPI. A failure (timeout, peer gone) leaves the communicator broken:
// every later call returns the same error, so a gang restarts together.
//
// The timeout promise (RendezvousOptions::timeout) holds for ring (its own
// sockets and deadlines) and nccl (a watchdog polls the stream and NCCL's
// asynchronous error, then ncclCommAbort). It does not hold for mpi: when a rank
// dies, OpenMPI's runtime aborts the whole job (or, in some failure modes, the
// collective blocks), so the process exits and the agent reports it; the TrainJob
// supervisor's whole-gang restart from the last checkpoint is the recovery path.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kernels/device.h"
#include "protocol/status.h"

namespace cadre::training {

enum class ReduceOp { kSum, kAverage };

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual const char* name() const = 0;
  // Where buffers passed to the collectives must live.
  virtual kernels::Device memory_device() const { return kernels::Device::kCpu; }

  // Element-wise sum (or mean) of count floats across ranks, in place.
  virtual Status allreduce(float* data, size_t count, ReduceOp op) = 0;
  // Copies root's bytes into every other rank's buffer.
  virtual Status broadcast(void* data, size_t bytes, int root) = 0;
  // recv[r * bytes .. (r+1) * bytes) = rank r's send buffer, on every rank.
  virtual Status allgather(const void* send, size_t bytes, void* recv) = 0;
  // Returns once every rank has entered the barrier.
  virtual Status barrier() = 0;
};

// Who the peers are and how long to wait for them (the environment contract of
// DESIGN.md, parsed once by rendezvous_from_environment()).
struct RendezvousOptions {
  int rank = 0;
  int world_size = 1;
  // Rank-ordered host:port list (CADRE_PEERS); empty when the master form is used.
  std::vector<std::string> peers;
  // MASTER_ADDR / MASTER_PORT form: rank 0 listens there and hands out peers.
  std::string master_addr;
  int master_port = 0;
  // A peer that has not answered within this time is an error, never a hang:
  // applies to connecting, and to every collective making no progress.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // CADRE_JOB_TOKEN: every connection between ranks (ring, master rendezvous,
  // parameter servers) proves it before any payload (protocol/peer_auth.h). Empty
  // (a program started by hand, outside Cadre): connections are not authenticated.
  std::string token;
};

struct CommunicatorOptions {
  RendezvousOptions rendezvous;
  // ring: "auto" uses shared memory between ranks on the same host, "tcp" never.
  std::string ring_transport = "auto";
  // ring: bytes per pipelined slice; also the shared-memory ring capacity / 4.
  size_t ring_slice_bytes = size_t{1} << 20;
  // ring: all-reduces of at most this many bytes over 3+ ranks take the latency
  // path (n-1 steps of whole buffers, not 2(n-1) of 1/n); ring/ring_communicator.h.
  size_t ring_small_bytes = size_t{16} << 10;
  // nccl: CUDA device of this rank.
  int cuda_device = 0;
};

// "ring", "mpi" or "nccl"; backends missing from this build are Unavailable.
Result<std::unique_ptr<Communicator>> create_communicator(const std::string& backend,
                                                          const CommunicatorOptions& options);

}  // namespace cadre::training

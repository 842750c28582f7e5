// Collectives on GPU buffers through NCCL. Rank 0 creates the ncclUniqueId and
// hands it to the others over a TCP ring (the same rendezvous as the ring
// backend), which also serves the barrier. A collective that makes no progress for
// the rendezvous timeout, or that NCCL reports failed (a dead peer), aborts the
// communicator (ncclCommAbort) and fails; every later call returns that error.
#pragma once

#include <memory>

#include "training/collectives/communicator.h"

namespace cadre::training::nccl {

class NcclCommunicator final : public Communicator {
 public:
  static Result<std::unique_ptr<NcclCommunicator>> Create(const CommunicatorOptions& options);
  ~NcclCommunicator() override;

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  const char* name() const override { return "nccl"; }
  kernels::Device memory_device() const override { return kernels::Device::kCuda; }
  Status allreduce(float* data, size_t count, ReduceOp op) override;
  Status broadcast(void* data, size_t bytes, int root) override;
  Status allgather(const void* send, size_t bytes, void* recv) override;
  Status barrier() override;

 private:
  Status wait(const char* what);  // the watchdog: see nccl_communicator.cc
  Status fail(Status why);        // aborts the communicator; it stays broken
  struct Impl;                    // ncclComm_t, cudaStream_t, the bootstrap ring
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
};

}  // namespace cadre::training::nccl

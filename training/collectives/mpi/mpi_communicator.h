// Collectives through OpenMPI (MPI_Allreduce and friends) on MPI_COMM_WORLD, for
// jobs launched by mpirun (MPIJob's Launcher). Rank and size come from MPI; when
// the Cadre environment also names them, they must agree.
#pragma once

#include <memory>

#include "training/collectives/communicator.h"

namespace cadre::training::mpi {

class MpiCommunicator final : public Communicator {
 public:
  static Result<std::unique_ptr<MpiCommunicator>> Create(const CommunicatorOptions& options);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  const char* name() const override { return "mpi"; }
  Status allreduce(float* data, size_t count, ReduceOp op) override;
  Status broadcast(void* data, size_t bytes, int root) override;
  Status allgather(const void* send, size_t bytes, void* recv) override;
  Status barrier() override;

 private:
  int rank_ = 0, world_ = 1;
  bool finalize_ = false;  // we initialised MPI, so we finalise it
};

}  // namespace cadre::training::mpi

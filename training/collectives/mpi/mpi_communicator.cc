#include "training/collectives/mpi/mpi_communicator.h"

#include <mpi.h>

#include <climits>
#include <string>

#include "protocol/checks.h"

namespace cadre {

// MPI results for MPICHECK (protocol/checks.h). MPI's codes are plain ints, so this
// overload is visible only here.
Status check_status(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return Status::Ok();
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return Unavailable(std::string(call) + " failed: " + std::string(text, len));
}

}  // namespace cadre

namespace cadre::training::mpi {
namespace {

// MPI counts are int: large buffers go in pieces of at most INT_MAX elements.
constexpr size_t kMaxCount = INT_MAX / 2;

}  // namespace

Result<std::unique_ptr<MpiCommunicator>> MpiCommunicator::Create(
    const CommunicatorOptions& options) {
  auto comm = std::unique_ptr<MpiCommunicator>(new MpiCommunicator());
  int initialized = 0;
  MPICHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    int provided = 0;
    MPICHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    comm->finalize_ = true;
  }
  // Errors come back as codes we turn into Status, instead of aborting the job.
  MPICHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPICHECK(MPI_Comm_rank(MPI_COMM_WORLD, &comm->rank_));
  MPICHECK(MPI_Comm_size(MPI_COMM_WORLD, &comm->world_));
  const auto& rv = options.rendezvous;
  if (rv.world_size > 1 && (rv.world_size != comm->world_ || rv.rank != comm->rank_))
    return FailedPrecondition("mpi: environment says rank " + std::to_string(rv.rank) + " of " +
                              std::to_string(rv.world_size) + " but MPI says rank " +
                              std::to_string(comm->rank_) + " of " + std::to_string(comm->world_));
  return comm;
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalize_ && !finalized) MPI_Finalize();
}

Status MpiCommunicator::allreduce(float* data, size_t count, ReduceOp op) {
  for (size_t off = 0; off < count; off += kMaxCount) {
    const int n = static_cast<int>(std::min(kMaxCount, count - off));
    MPICHECK(MPI_Allreduce(MPI_IN_PLACE, data + off, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
  }
  if (op == ReduceOp::kAverage && world_ > 1) {
    const float inv = 1.0f / static_cast<float>(world_);
    for (size_t i = 0; i < count; ++i) data[i] *= inv;
  }
  return Status::Ok();
}

Status MpiCommunicator::broadcast(void* data, size_t bytes, int root) {
  if (root < 0 || root >= world_) return InvalidArgument("broadcast root out of range");
  auto* p = static_cast<char*>(data);
  for (size_t off = 0; off < bytes; off += kMaxCount) {
    const int n = static_cast<int>(std::min(kMaxCount, bytes - off));
    MPICHECK(MPI_Bcast(p + off, n, MPI_BYTE, root, MPI_COMM_WORLD));
  }
  return Status::Ok();
}

Status MpiCommunicator::allgather(const void* send, size_t bytes, void* recv) {
  if (bytes > kMaxCount) return InvalidArgument("mpi allgather: block over 1 GiB");
  if (bytes == 0) return Status::Ok();
  MPICHECK(MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes),
                         MPI_BYTE, MPI_COMM_WORLD));
  return Status::Ok();
}

Status MpiCommunicator::barrier() {
  MPICHECK(MPI_Barrier(MPI_COMM_WORLD));
  return Status::Ok();
}

}  // namespace cadre::training::mpi

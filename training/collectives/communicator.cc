#include "training/collectives/communicator.h"

#include "training/collectives/ring/ring_communicator.h"
#ifdef CADRE_WITH_MPI
#include "training/collectives/mpi/mpi_communicator.h"
#endif
#ifdef CADRE_WITH_NCCL
#include "training/collectives/nccl/nccl_communicator.h"
#endif

namespace cadre::training {

Result<std::unique_ptr<Communicator>> create_communicator(const std::string& backend,
                                                          const CommunicatorOptions& options) {
  if (backend == "ring") {
    ASSIGN_OR_RETURN(auto c, ring::RingCommunicator::Create(options));
    return std::unique_ptr<Communicator>(std::move(c));
  }
  if (backend == "mpi") {
#ifdef CADRE_WITH_MPI
    ASSIGN_OR_RETURN(auto c, mpi::MpiCommunicator::Create(options));
    return std::unique_ptr<Communicator>(std::move(c));
#else
    return Unavailable("backend mpi: this build of cadre has no MPI support");
#endif
  }
  if (backend == "nccl") {
#ifdef CADRE_WITH_NCCL
    ASSIGN_OR_RETURN(auto c, nccl::NcclCommunicator::Create(options));
    return std::unique_ptr<Communicator>(std::move(c));
#else
    return Unavailable(
        "backend nccl: this build of cadre has no NCCL support (needs nvcc and NCCL)");
#endif
  }
  return InvalidArgument("backend: must be ring, mpi or nccl, got '" + backend + "'");
}

}  // namespace cadre::training

#include "kernels/cuda/cuda_checks.h"

#include <string>

namespace cadre {

// cuBLAS's half is in cublas_checks.cc: the NCCL communicator links this one
// without pulling cuBLAS into cadre-train.
Status check_status(cudaError_t result, const char* call) {
  if (result == cudaSuccess) return Status::Ok();
  return Unavailable(std::string(call) + " failed: " + cudaGetErrorString(result));
}

}  // namespace cadre

#include "kernels/cuda/cuda_checks.h"

#include <string>

namespace cadre {

Status check_status(cudaError_t result, const char* call) {
  if (result == cudaSuccess) return Status::Ok();
  return Unavailable(std::string(call) + " failed: " + cudaGetErrorString(result));
}

Status check_status(cublasStatus_t result, const char* call) {
  if (result == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  return Internal(std::string(call) + " failed: " + cublasGetStatusString(result));
}

}  // namespace cadre

#include <string>

#include "kernels/cuda/cuda_checks.h"

namespace cadre {

Status check_status(cublasStatus_t result, const char* call) {
  if (result == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  return Internal(std::string(call) + " failed: " + cublasGetStatusString(result));
}

}  // namespace cadre

// CUDA runtime and cuBLAS results as Status values, for CUDACHECK and CUBLASCHECK
// (protocol/checks.h). Included only by code compiled against the CUDA toolkit.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "protocol/checks.h"

namespace cadre {

Status check_status(cudaError_t result, const char* call);
Status check_status(cublasStatus_t result, const char* call);

}  // namespace cadre

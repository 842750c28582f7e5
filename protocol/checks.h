// Every check macro Cadre has, in one place (NCCL's src/include/checks.h habit). Each
// runs a library call and, when it fails, returns from the calling function a Status
// that names the call and carries the library's own error text:
//   CUDACHECK(cudaMalloc(&p, n));  ->  "cudaMalloc(&p, n) failed: out of memory"
//
// A library's result type is turned into a Status by an overload of
// cadre::check_status(result, call), declared beside the code that links the library:
// kernels/cuda/cuda_checks.h (CUDA runtime and cuBLAS), the NCCL and MPI
// communicators. cppzmq reports ZeroMQ errors as exceptions, so ZeroMQ has its own pair.
#pragma once

#include "protocol/status.h"

// Returns the failure of `call` from the enclosing function.
#define CADRE_CHECK(call) RETURN_IF_ERROR(::cadre::check_status((call), #call))
#define CUDACHECK(call) CADRE_CHECK(call)
#define CUBLASCHECK(call) CADRE_CHECK(call)
#define NCCLCHECK(call) CADRE_CHECK(call)
#define MPICHECK(call) CADRE_CHECK(call)
// After a CUDA kernel launch: launch-configuration errors surface here, named `what`.
#define LAUNCHCHECK(what) RETURN_IF_ERROR(::cadre::check_status(cudaGetLastError(), what))

// ZeroMQ through cppzmq (include <zmq.hpp> where these are used). ZMQ_STATUS(call)
// is the Status of running `call` (a statement or a braced block); ZMQCHECK(call)
// returns it from the enclosing function when it is an error.
#define ZMQ_STATUS(call)                                                        \
  [&]() -> ::cadre::Status {                                                    \
    try {                                                                       \
      call;                                                                     \
      return ::cadre::Status::Ok();                                             \
    } catch (const zmq::error_t& e) {                                           \
      return ::cadre::Unavailable(std::string(#call) + " failed: " + e.what()); \
    }                                                                           \
  }()
#define ZMQCHECK(call) RETURN_IF_ERROR(ZMQ_STATUS(call))

// The CUDA backend as a library loaded on first use: libcadre_kernels_cuda.so in
// <prefix>/lib/cadre, beside <prefix>/bin. create_backend() and cuda_available()
// (kernels/backend.cc) open it the first time a process asks for CUDA, so a
// process that never does maps no CUDA runtime and no cuBLAS: libcublasLt alone
// is ~150 MB resident once loaded, most of it data written at load, in every
// replica and every trial. Its entry points are plain C symbols, looked up by
// name, so the loader needs no CUDA header.
#pragma once

#include "kernels/backend.h"

namespace cadre::kernels::cuda_module {

inline constexpr const char* kLibrary = "libcadre_kernels_cuda.so";

// int cadre_cuda_device_count(): visible CUDA devices, 0 without a driver.
inline constexpr const char* kDeviceCount = "cadre_cuda_device_count";
using DeviceCountFn = int (*)();

// Backend* cadre_cuda_backend_create(const BackendOptions*, Status* error): a new
// CudaBackend the caller owns, or nullptr with *error saying why.
inline constexpr const char* kCreate = "cadre_cuda_backend_create";
using CreateFn = Backend* (*)(const BackendOptions*, Status*);

}  // namespace cadre::kernels::cuda_module

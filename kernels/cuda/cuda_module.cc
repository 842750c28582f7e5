// The entry points of libcadre_kernels_cuda.so (kernels/cuda/cuda_module.h).
#include "kernels/cuda/cuda_module.h"

#include "kernels/cuda/cuda_backend.h"

using cadre::Status;
using cadre::kernels::Backend;
using cadre::kernels::BackendOptions;

extern "C" int cadre_cuda_device_count() { return cadre::kernels::cuda_device_count(); }

extern "C" Backend* cadre_cuda_backend_create(const BackendOptions* options, Status* error) {
  auto backend = cadre::kernels::CudaBackend::Create(*options);
  if (!backend.ok()) {
    *error = backend.status();
    return nullptr;
  }
  return std::move(backend).value().release();
}

// The loader casts what dlsym finds to these types: a mismatch fails to compile here.
static_assert(
    std::is_same_v<decltype(&cadre_cuda_device_count), cadre::kernels::cuda_module::DeviceCountFn>);
static_assert(
    std::is_same_v<decltype(&cadre_cuda_backend_create), cadre::kernels::cuda_module::CreateFn>);

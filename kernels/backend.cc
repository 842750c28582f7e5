#include "kernels/backend.h"

#include "kernels/cpu/cpu_backend.h"
#ifdef CADRE_WITH_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace cadre::kernels {

const char* device_name(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

Result<Device> parse_device(const std::string& text) {
  if (text == "cpu") return Device::kCpu;
  if (text == "cuda") return Device::kCuda;
  return InvalidArgument("device: must be cpu or cuda, got '" + text + "'");
}

bool cuda_available() {
#ifdef CADRE_WITH_CUDA
  return cuda_device_count() > 0;
#else
  return false;
#endif
}

Result<std::unique_ptr<Backend>> create_backend(const BackendOptions& options) {
  if (options.device == Device::kCpu) {
    return std::unique_ptr<Backend>(new CpuBackend(options.threads, options.cpu_direct_conv));
  }
#ifdef CADRE_WITH_CUDA
  return CudaBackend::Create(options);
#else
  return Unavailable("device cuda: this build of cadre has no CUDA support (nvcc was not found)");
#endif
}

}  // namespace cadre::kernels

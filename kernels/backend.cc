#include "kernels/backend.h"

#include <dlfcn.h>
#include <unistd.h>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_module.h"
#include "protocol/install_layout.h"

namespace cadre::kernels {
namespace {

struct CudaModule {
  cuda_module::DeviceCountFn device_count = nullptr;
  cuda_module::CreateFn create = nullptr;
};

// Opens libcadre_kernels_cuda.so once and keeps it for the life of the process
// (the CUDA runtime cannot be unloaded safely); a failure is remembered too.
const Result<CudaModule>& cuda_module_library() {
  static const Result<CudaModule> loaded = []() -> Result<CudaModule> {
#ifndef CADRE_WITH_CUDA
    return Unavailable("device cuda: this build of cadre has no CUDA support (nvcc was not found)");
#else
    const auto path = cadre_library_directory() / cuda_module::kLibrary;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      return Unavailable("device cuda: cannot load " + path.string() + ": " +
                         (why ? why : "unknown error"));
    }
    CudaModule m;
    m.device_count =
        reinterpret_cast<cuda_module::DeviceCountFn>(dlsym(handle, cuda_module::kDeviceCount));
    m.create = reinterpret_cast<cuda_module::CreateFn>(dlsym(handle, cuda_module::kCreate));
    if (!m.device_count || !m.create)
      return Unavailable("device cuda: " + path.string() + " lacks " + cuda_module::kCreate +
                         " or " + cuda_module::kDeviceCount);
    return m;
#endif
  }();
  return loaded;
}

// Without an NVIDIA device node (or WSL's) the driver can reach no GPU: say so
// without loading the CUDA runtime, which is what a CPU node's processes ask.
bool gpu_device_node_present() {
  for (const char* node : {"/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"})
    if (::access(node, F_OK) == 0) return true;
  return false;
}

}  // namespace

const char* device_name(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

Result<Device> parse_device(const std::string& text) {
  if (text == "cpu") return Device::kCpu;
  if (text == "cuda") return Device::kCuda;
  return InvalidArgument("device: must be cpu or cuda, got '" + text + "'");
}

bool cuda_available() {
  if (!gpu_device_node_present()) return false;
  const auto& module = cuda_module_library();
  return module.ok() && module.value().device_count() > 0;
}

Result<std::unique_ptr<Backend>> create_backend(const BackendOptions& options) {
  if (options.device == Device::kCpu) {
    return std::unique_ptr<Backend>(new CpuBackend(options.threads, options.cpu_direct_conv));
  }
  const auto& module = cuda_module_library();
  if (!module.ok()) return module.status();
  Status error = Status::Ok();
  Backend* backend = module.value().create(&options, &error);
  if (!backend)
    return error.ok() ? Internal("device cuda: the CUDA backend gave no reason") : error;
  return std::unique_ptr<Backend>(backend);
}

}  // namespace cadre::kernels

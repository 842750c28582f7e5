// The CUDA backend is a library loaded on first use (kernels/cuda/cuda_module.h):
// a process that only computes on the CPU never maps the CUDA runtime or cuBLAS,
// and one that asks for CUDA gets a backend or a reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace cadre::kernels {
namespace {

bool maps(const std::string& library) {
  std::ifstream in("/proc/self/maps");
  std::stringstream text;
  text << in.rdbuf();
  return text.str().find(library) != std::string::npos;
}

bool gpu_device_node_present() {
  for (const char* node : {"/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"})
    if (::access(node, F_OK) == 0) return true;
  return false;
}

// One process, in order: the CPU first, then CUDA asked for (a test each would
// depend on which ran first in the binary).
TEST(BackendLoading, ACpuOnlyProcessNeverMapsCudaAndAskingForCudaLoadsItOrSaysWhy) {
  auto cpu = create_backend({Device::kCpu, 1, 0});
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  std::vector<float> a(4, 1.0f), b(4, 2.0f), c(4, 0.0f);
  ASSERT_TRUE((*cpu)->gemm(false, false, 2, 2, 2, 1.0f, a.data(), b.data(), 0.0f, c.data()).ok());
  EXPECT_EQ(c[0], 4.0f);
  if (!gpu_device_node_present()) {
    EXPECT_FALSE(cuda_available());
  }
  EXPECT_FALSE(maps("libcublas")) << "the CPU path mapped cuBLAS";
  EXPECT_FALSE(maps("libcudart")) << "the CPU path mapped the CUDA runtime";

  auto cuda = create_backend({Device::kCuda, 1, 0});
#ifdef CADRE_WITH_CUDA
  EXPECT_TRUE(maps("libcadre_kernels_cuda.so"));
  if (cuda.ok()) {
    EXPECT_EQ((*cuda)->device(), Device::kCuda);
  } else {
    EXPECT_EQ(cuda.status().code(), StatusCode::kUnavailable) << cuda.status().to_string();
    EXPECT_NE(cuda.status().message().find("device cuda"), std::string::npos)
        << cuda.status().to_string();
  }
#else
  ASSERT_FALSE(cuda.ok());
  EXPECT_NE(cuda.status().message().find("no CUDA support"), std::string::npos);
#endif
}

}  // namespace
}  // namespace cadre::kernels

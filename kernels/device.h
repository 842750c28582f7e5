// Where tensors live and kernels run. Chosen once at start-up (--device) and
// passed down; nothing below this line asks the environment.
#pragma once

#include <string>

#include "protocol/status.h"

namespace cadre::kernels {

enum class Device { kCpu, kCuda };

const char* device_name(Device device);

// "cpu" or "cuda"; anything else is an InvalidArgument naming the value.
Result<Device> parse_device(const std::string& text);

// True when this binary was built with CUDA and at least one device is visible.
// Without an NVIDIA (or WSL) device node it answers false without loading the
// CUDA library (kernels/cuda/cuda_module.h); with one, it loads it to ask.
bool cuda_available();

}  // namespace cadre::kernels

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
bool cuda_available();

}  // namespace cadre::kernels

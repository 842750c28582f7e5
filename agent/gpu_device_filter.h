// A replica's GPU device rules on cgroup v2, where a group's device access is
// decided by a BPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to it rather than
// by devices.deny files (v1; replica_cgroups.h writes those). The program denies
// the NVIDIA device files (character major 195) of the GPUs the replica was not
// given and allows every other device, as v1's "a *:* rwm" with exceptions does;
// the kernel asks it on every open, mknod and access of a device by any process in
// the group. It runs in hybrid hierarchies too: BPF device programs attach to
// unified-hierarchy groups whichever hierarchy holds the devices controller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::agent {

// The character-device major of NVIDIA's GPU device files, /dev/nvidia<minor> (the
// driver's NV_MAJOR_DEVICE_NUMBER); v1's devices.deny rules name it too.
inline constexpr int32_t kNvidiaDeviceMajor = 195;

// Whether this kernel and process can load a device program (CONFIG_CGROUP_BPF,
// CAP_BPF or CAP_SYS_ADMIN). Loads a trivial program and closes it.
Status probe_gpu_device_filter();

// Loads the program denying `denied_minors` (/dev/nvidia<minor>) and attaches it to
// the cgroup v2 group at `group_dir` (beside any other programs there). The
// attachment keeps the program alive; it goes with the group. An empty list
// attaches nothing.
Status attach_gpu_device_filter(const std::string& group_dir,
                                const std::vector<int32_t>& denied_minors);

}  // namespace cadre::agent

#include "agent/gpu_device_filter.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cadre::agent {
namespace {

// Minors denied by one program: a node has at most a few dozen GPUs, and each costs
// one instruction (the verifier allows a million).
constexpr size_t kMaxDeniedMinors = 256;

int bpf(int command, union bpf_attr* attr) {
  return static_cast<int>(::syscall(__NR_bpf, command, attr, sizeof(*attr)));
}

constexpr bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return bpf_insn{code, dst, src, off, imm};
}

// The program over struct bpf_cgroup_dev_ctx {u32 access_type (access << 16 |
// type); u32 major; u32 minor}: 1 allows the access, 0 refuses it with EPERM.
//   r2 = type, r3 = major, r4 = minor
//   if r2 != char goto allow; if r3 != 195 goto allow
//   if r4 == m0 goto deny; if r4 == m1 goto deny; ...
//   allow: r0 = 1; exit      deny: r0 = 0; exit
std::vector<bpf_insn> program(const std::vector<int32_t>& denied) {
  const auto n = static_cast<int16_t>(denied.size());
  std::vector<bpf_insn> p = {
      insn(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0),
      insn(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff),
      insn(BPF_LDX | BPF_W | BPF_MEM, 3, 1, 4, 0),
      insn(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 8, 0),
      // Jumps count from the next instruction: past the other test and the n
      // minor tests to "allow".
      insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, static_cast<int16_t>(n + 1), BPF_DEVCG_DEV_CHAR),
      insn(BPF_JMP | BPF_JNE | BPF_K, 3, 0, n, kNvidiaDeviceMajor),
  };
  for (int16_t i = 0; i < n; ++i) {
    // From test i, "deny" is past the remaining n-1-i tests and allow's two.
    p.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, static_cast<int16_t>(n - 1 - i + 2),
                     denied[static_cast<size_t>(i)]));
  }
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

Result<int> load(const std::vector<int32_t>& denied) {
  const std::vector<bpf_insn> insns = program(denied);
  char log[4096] = {0};
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>("Apache-2.0");
  attr.log_buf = reinterpret_cast<uint64_t>(log);
  attr.log_size = sizeof(log);
  attr.log_level = 1;
  const int fd = bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0) {
    const int error = errno;
    std::string why = std::string("bpf(BPF_PROG_LOAD, cgroup device): ") + std::strerror(error);
    if (log[0] != '\0') why += ": " + std::string(log).substr(0, 200);
    return FailedPrecondition(why);
  }
  return fd;
}

}  // namespace

Status probe_gpu_device_filter() {
  ASSIGN_OR_RETURN(const int fd, load({0}));
  ::close(fd);
  return Status::Ok();
}

Status attach_gpu_device_filter(const std::string& group_dir,
                                const std::vector<int32_t>& denied_minors) {
  if (denied_minors.empty()) return Status::Ok();
  if (denied_minors.size() > kMaxDeniedMinors) {
    return InvalidArgument("device filter: " + std::to_string(denied_minors.size()) +
                           " GPUs to deny, more than " + std::to_string(kMaxDeniedMinors));
  }
  ASSIGN_OR_RETURN(const int program_fd, load(denied_minors));
  const int group_fd = ::open(group_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (group_fd < 0) {
    const int error = errno;
    ::close(program_fd);
    return FailedPrecondition("open(" + group_dir + "): " + std::strerror(error));
  }
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(group_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(program_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  // Beside what an outer manager (systemd, a container runtime) attached higher up:
  // every program on the path must allow an access.
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  const int attached = bpf(BPF_PROG_ATTACH, &attr);
  const int error = errno;
  ::close(group_fd);
  ::close(program_fd);
  if (attached != 0) {
    return FailedPrecondition("bpf(BPF_PROG_ATTACH, " + group_dir + "): " + std::strerror(error));
  }
  return Status::Ok();
}

}  // namespace cadre::agent

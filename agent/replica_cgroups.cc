#include "agent/replica_cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "agent/gpu_device_filter.h"

namespace cadre::agent {
namespace fs = std::filesystem;
namespace {

constexpr const char* kV1Controllers[] = {"memory", "pids", "cpu", "devices"};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_text(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return FailedPrecondition("open(" + path + "): " + std::strerror(errno));
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int error = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return FailedPrecondition("write(" + path + ", " + value + "): " + std::strerror(error));
  }
  return Status::Ok();
}

Status make_dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return FailedPrecondition("mkdir(" + path + "): " + ec.message());
  return Status::Ok();
}

// The value of "key N" in a flat-keyed cgroup file (memory.events, memory.oom_control).
int64_t keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string name;
  int64_t value = 0;
  while (in >> name >> value) {
    if (name == key) return value;
  }
  return 0;
}

struct Mount {
  std::string point;
  std::string type;
  std::string options;
};

std::vector<Mount> cgroup_mounts(const CgroupHost& host) {
  std::vector<Mount> mounts;
  std::ifstream in(host.mounts);
  std::string device, point, type, options, rest;
  while (in >> device >> point >> type >> options && std::getline(in, rest)) {
    if (type == "cgroup" || type == "cgroup2") mounts.push_back({point, type, options});
  }
  return mounts;
}

// From /proc/self/cgroup: "0::/path" for v2, "N:memory:/path" (controllers comma
// separated) for v1. Returns the path of `controller` ("" for the unified line).
std::optional<std::string> own_path(const CgroupHost& host, const std::string& controller) {
  std::ifstream in(host.own_groups);
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::istringstream list(controllers);
    std::string name;
    bool match = controller.empty() && controllers.empty();
    while (!match && std::getline(list, name, ',')) match = name == controller;
    if (match) return line.substr(second + 1);
  }
  return std::nullopt;
}

bool has_option(const std::string& options, const std::string& name) {
  std::istringstream list(options);
  std::string option;
  while (std::getline(list, option, ',')) {
    if (option == name) return true;
  }
  return false;
}

// v2: the agent's own group gets an "agent" leaf it moves itself into (a group
// whose children have controllers may hold no processes), and `parent_name`
// beside it with memory, pids and cpu enabled for the replicas below.
Result<std::string> setup_v2(const CgroupHost& host, const std::string& mount,
                             const std::string& parent_name) {
  const std::string own = mount + own_path(host, "").value_or("/");
  const std::string controllers = read_text(own + "/cgroup.controllers");
  for (const char* needed : {"memory", "pids"}) {
    if (controllers.find(needed) == std::string::npos) {
      return Unavailable(std::string("cgroup v2 group ") + own + " does not delegate " + needed);
    }
  }
  if (fs::path(own) != fs::path(mount)) {
    RETURN_IF_ERROR(make_dir(own + "/agent"));
    RETURN_IF_ERROR(write_text(own + "/agent/cgroup.procs", "0"));
  }
  const std::string enable =
      controllers.find("cpu") != std::string::npos ? "+memory +pids +cpu" : "+memory +pids";
  RETURN_IF_ERROR(write_text(own + "/cgroup.subtree_control", enable));
  const std::string parent = own + "/" + parent_name;
  RETURN_IF_ERROR(make_dir(parent));
  RETURN_IF_ERROR(write_text(parent + "/cgroup.subtree_control", enable));
  return parent;
}

}  // namespace

ReplicaCgroups::ReplicaCgroups(CgroupVersion version, std::vector<std::string> parents)
    : version_(version), parents_(std::move(parents)) {}

Result<std::unique_ptr<ReplicaCgroups>> ReplicaCgroups::Create(const std::string& parent_name,
                                                               const CgroupHost& host) {
  const std::vector<Mount> mounts = cgroup_mounts(host);
  // Pure v2 (cgroup2 at the root with controllers) wins; a hybrid system's empty
  // unified mount is ignored in favour of its v1 controllers.
  for (const Mount& m : mounts) {
    if (m.type != "cgroup2") continue;
    if (read_text(m.point + "/cgroup.controllers").find("memory") == std::string::npos) continue;
    ASSIGN_OR_RETURN(std::string parent, setup_v2(host, m.point, parent_name));
    std::unique_ptr<ReplicaCgroups> cgroups(new ReplicaCgroups(CgroupVersion::kV2, {parent}));
    const Status programs = probe_gpu_device_filter();
    cgroups->device_programs_ = programs.ok();
    if (!programs.ok()) spdlog::debug("cgroups: no BPF device programs: {}", programs.message());
    return cgroups;
  }
  std::vector<std::string> parents;
  for (const char* controller : kV1Controllers) {
    const Mount* found = nullptr;
    for (const Mount& m : mounts) {
      if (m.type == "cgroup" && has_option(m.options, controller)) found = &m;
    }
    // memory and pids are what isolation needs; cpu only shares out time, and
    // devices matters only to GPU nodes (the agent says so at start-up): a node
    // without them, or where they cannot be written, still isolates the rest.
    const bool optional = std::string(controller) == "cpu" || std::string(controller) == "devices";
    if (found == nullptr) {
      if (optional) continue;
      return Unavailable(std::string("no cgroup v1 '") + controller +
                         "' hierarchy and no cgroup v2 with memory is mounted");
    }
    const std::string parent =
        found->point + own_path(host, controller).value_or("/") + "/" + parent_name;
    Status made = make_dir(parent);
    if (!made.ok() && optional) {
      spdlog::warn("cgroups: not using the v1 '{}' hierarchy: {}", controller, made.message());
      continue;
    }
    RETURN_IF_ERROR(made);
    parents.push_back(fs::path(parent).lexically_normal().string());
  }
  return std::unique_ptr<ReplicaCgroups>(new ReplicaCgroups(CgroupVersion::kV1, parents));
}

ReplicaCgroups::~ReplicaCgroups() {
  retry_removals();
  for (const std::string& parent : parents_) ::rmdir(parent.c_str());
}

bool ReplicaCgroups::isolates_devices() const {
  if (version_ == CgroupVersion::kV2) return device_programs_;
  for (const std::string& parent : parents_) {
    if (fs::exists(parent + "/devices.deny")) return true;
  }
  return false;
}

std::vector<std::string> ReplicaCgroups::dirs_of(const std::string& uid) const {
  std::vector<std::string> dirs;
  for (const std::string& parent : parents_) dirs.push_back(parent + "/" + uid);
  return dirs;
}

Result<std::vector<int>> ReplicaCgroups::create(const std::string& uid,
                                                const CgroupLimits& limits) {
  retry_removals();
  remove(uid);  // a leftover of an earlier incarnation with the same uid
  std::vector<int> fds;
  auto fail = [&](Status status) {
    for (int fd : fds) ::close(fd);
    remove(uid);
    return status;
  };
  for (const std::string& dir : dirs_of(uid)) {
    Status made = make_dir(dir);
    if (!made.ok()) return fail(made);
    // Each limit is written where its controller lives (v1) or all in one (v2).
    std::vector<std::pair<std::string, std::string>> settings;
    const bool v2 = version_ == CgroupVersion::kV2;
    if (limits.memory_bytes > 0) {
      if (v2) {
        settings.push_back({"memory.max", std::to_string(limits.memory_bytes)});
        settings.push_back({"memory.swap.max", "0"});
      } else if (fs::exists(dir + "/memory.limit_in_bytes")) {
        settings.push_back({"memory.limit_in_bytes", std::to_string(limits.memory_bytes)});
      }
    }
    if (limits.pids_max > 0 && (v2 || fs::exists(dir + "/pids.max"))) {
      settings.push_back({"pids.max", std::to_string(limits.pids_max)});
    }
    if (limits.cpu_millis > 0) {
      // Kubernetes' conversion: shares = millis * 1024 / 1000, weight from shares.
      const int64_t shares = std::max<int64_t>(2, limits.cpu_millis * 1024 / 1000);
      if (v2 && fs::exists(dir + "/cpu.weight")) {
        const int64_t weight = 1 + ((std::min<int64_t>(shares, 262144) - 2) * 9999) / 262142;
        settings.push_back({"cpu.weight", std::to_string(weight)});
      } else if (!v2 && fs::exists(dir + "/cpu.shares")) {
        settings.push_back({"cpu.shares", std::to_string(shares)});
      }
    }
    if (!v2 && fs::exists(dir + "/devices.deny")) {
      // One exception per write: the group inherits the parent's "a *:* rwm".
      for (int32_t minor : limits.denied_gpu_minors) {
        settings.push_back({"devices.deny", "c " + std::to_string(kNvidiaDeviceMajor) + ":" +
                                                std::to_string(minor) + " rwm"});
      }
    }
    for (const auto& [file, value] : settings) {
      Status written = write_text(dir + "/" + file, value);
      // Swap accounting may be off; the memory limit itself is what matters.
      if (!written.ok() && file != "memory.swap.max") return fail(written);
    }
    if (!v2 && limits.memory_bytes > 0 && fs::exists(dir + "/memory.memsw.limit_in_bytes")) {
      (void)write_text(dir + "/memory.memsw.limit_in_bytes", std::to_string(limits.memory_bytes));
    }
    if (v2 && device_programs_) {
      // Attached before anything joins the group, so no process of the replica
      // ever sees the other GPUs.
      Status filtered = attach_gpu_device_filter(dir, limits.denied_gpu_minors);
      if (!filtered.ok()) return fail(filtered);
    }
    const std::string join = dir + (v2 ? "/cgroup.procs" : "/tasks");
    const int fd = ::open(join.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail(FailedPrecondition("open(" + join + "): " + std::strerror(errno)));
    fds.push_back(fd);
  }
  return fds;
}

int ReplicaCgroups::kill_all(const std::string& uid) {
  int signalled = 0;
  // A few rounds: a process forking while we read the list lands in the group too
  // (the pids limit bounds how many), and is caught by the next round.
  for (int round = 0; round < 8; ++round) {
    int this_round = 0;
    for (const std::string& dir : dirs_of(uid)) {
      std::istringstream procs(read_text(dir + "/cgroup.procs"));
      pid_t pid = 0;
      while (procs >> pid) {
        if (pid > 0 && ::kill(pid, SIGKILL) == 0) ++this_round;
      }
    }
    signalled += this_round;
    if (this_round == 0) break;
  }
  return signalled;
}

bool ReplicaCgroups::oom_killed(const std::string& uid) const {
  for (const std::string& dir : dirs_of(uid)) {
    if (version_ == CgroupVersion::kV2) {
      return keyed_value(read_text(dir + "/memory.events"), "oom_kill") > 0;
    }
    if (fs::exists(dir + "/memory.oom_control")) {
      return keyed_value(read_text(dir + "/memory.oom_control"), "oom_kill") > 0;
    }
  }
  return false;
}

void ReplicaCgroups::remove(const std::string& uid) {
  for (const std::string& dir : dirs_of(uid)) {
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) pending_removal_.push_back(dir);
  }
}

ReplicaCgroups::Leftovers ReplicaCgroups::stop_leftovers() {
  std::set<std::string> uids;
  for (const std::string& parent : parents_) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
      if (entry.is_directory(ec)) uids.insert(entry.path().filename().string());
    }
  }
  Leftovers found;
  for (const std::string& uid : uids) {
    found.processes += kill_all(uid);
    remove(uid);  // a folder whose processes are still dying is retried on the next reap
  }
  found.groups = static_cast<int>(uids.size());
  return found;
}

void ReplicaCgroups::retry_removals() {
  std::vector<std::string> still;
  for (const std::string& dir : pending_removal_) {
    if (::rmdir(dir.c_str()) != 0 && errno == EBUSY) still.push_back(dir);
  }
  if (still.size() > 1000) {
    spdlog::warn("cgroups: {} replica groups could not be removed yet", still.size());
  }
  pending_removal_ = std::move(still);
}

}  // namespace cadre::agent

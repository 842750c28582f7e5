#include "agent/replica_sandbox.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace cadre::agent {

Result<RunAs> lookup_user(const std::string& name) {
  if (name.empty()) return InvalidArgument("--run-as: empty user name");
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr && name.find_first_not_of("0123456789") == std::string::npos) {
    error = ::getpwuid_r(static_cast<uid_t>(std::stoul(name)), &entry, buffer.data(), buffer.size(),
                         &found);
  }
  if (found == nullptr) {
    return FailedPrecondition("--run-as: no user '" + name + "'" +
                              (error != 0 ? std::string(" (") + std::strerror(error) + ")" : "") +
                              "; create it (scripts/setup-deps.sh creates cadre-run) or name "
                              "another unprivileged user");
  }
  return RunAs{found->pw_name, found->pw_uid, found->pw_gid};
}

Result<ReplicaSandbox> make_replica_sandbox(const SandboxOptions& options) {
  ReplicaSandbox sandbox;
  // A limit only ever lowers what the agent itself may do: raising a hard limit
  // needs CAP_SYS_RESOURCE, which a confined agent may lack.
  auto limit = [&](int resource, rlim_t value) {
    struct rlimit current {};
    if (::getrlimit(resource, &current) == 0 && current.rlim_max != RLIM_INFINITY) {
      value = std::min(value, current.rlim_max);
    }
    sandbox.rlimits.push_back({resource, value});
  };
  limit(RLIMIT_NOFILE, options.max_open_files);
  limit(RLIMIT_CORE, options.core_bytes);
  if (options.max_processes > 0) limit(RLIMIT_NPROC, options.max_processes);
  sandbox.pids_max = options.pids_max;

  if (::geteuid() == 0) {
    ASSIGN_OR_RETURN(RunAs user, lookup_user(options.run_as));
    if (user.uid == 0 && !options.allow_root) {
      return FailedPrecondition("--run-as " + options.run_as +
                                ": replicas would run as root; name an unprivileged user or "
                                "pass --allow-root-replicas");
    }
    if (user.uid != 0) sandbox.run_as = user;
  } else {
    spdlog::info("sandbox: the agent is not root; replicas run as its own user (uid {})",
                 ::geteuid());
  }

  if (options.cgroups != CgroupMode::kOff) {
    auto cgroups = ReplicaCgroups::Create(options.cgroup_parent);
    if (cgroups.ok()) {
      sandbox.cgroups = std::shared_ptr<ReplicaCgroups>(std::move(*cgroups));
      spdlog::info("sandbox: one cgroup {} per replica under {}",
                   sandbox.cgroups->version() == CgroupVersion::kV2 ? "v2" : "v1",
                   sandbox.cgroups->parents().front());
      const auto left = sandbox.cgroups->stop_leftovers();
      if (left.groups > 0) {
        spdlog::warn(
            "sandbox: an earlier run of this agent left {} replica groups; {} processes in them "
            "were killed (their replicas were counted failed when it stopped)",
            left.groups, left.processes);
      }
    } else if (options.cgroups == CgroupMode::kRequired) {
      return FailedPrecondition("--cgroups required: " + cgroups.status().message());
    } else {
      spdlog::warn("sandbox: replicas run without cgroups (memory not enforced): {}",
                   cgroups.status().message());
    }
  }
  return sandbox;
}

}  // namespace cadre::agent

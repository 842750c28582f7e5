#include "agent/launch_spec.h"

#include <filesystem>

#include "protocol/environment.h"

namespace cadre::agent {

bool is_safe_path_component(const std::string& name) {
  if (name.empty() || name.size() > 253 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string replica_log_path(const std::string& work_dir, const std::string& uid) {
  return (std::filesystem::path(work_dir) / "logs" / (uid + ".log")).string();
}

std::string existing_log_path(const std::string& work_dir, const std::string& uid) {
  const std::string current = replica_log_path(work_dir, uid);
  std::error_code ec;
  if (std::filesystem::exists(current, ec)) return current;
  const auto legacy = std::filesystem::path(work_dir) / "replicas" / uid / "output.log";
  return std::filesystem::exists(legacy, ec) ? legacy.string() : current;
}

std::map<std::string, std::string> current_environment() { return environment_map(); }

namespace {

// Whether `path` is `root` or lies below it (both already lexically normal).
bool inside(const std::filesystem::path& path, const std::filesystem::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

namespace fs = std::filesystem;

// Names that become folders: nothing that leaves the agent's work dir.
Status check_names(const protocol::LaunchReplica& msg) {
  if (!is_safe_path_component(msg.uid)) {
    return InvalidArgument("replica uid '" + msg.uid + "' is not a safe folder name");
  }
  if (!is_safe_path_component(msg.job)) {
    return InvalidArgument("job name '" + msg.job + "' is not a safe folder name");
  }
  if (msg.command.empty() || msg.command.front().empty()) {
    return InvalidArgument("replica " + msg.uid + " has an empty command");
  }
  return Status::Ok();
}

Status set_working_dir(LaunchSpec& spec, const std::string& working_dir,
                       const fs::path& replica_dir) {
  if (working_dir.empty()) {
    spec.working_dir = spec.replica_dir;
  } else if (fs::path(working_dir).is_absolute()) {
    spec.working_dir = working_dir;  // the user's folder: must already exist
  } else {
    // Relative: inside the replica folder, which the agent creates. "../.." would
    // make the agent create (and the replica start in) a folder of its choosing.
    const fs::path dir = (replica_dir / working_dir).lexically_normal();
    if (!inside(dir, replica_dir)) {
      return InvalidArgument("workingDir '" + working_dir.substr(0, 64) +
                             "' leaves the replica's folder");
    }
    spec.working_dir = dir.string();
    spec.create_dirs.push_back(spec.working_dir);
  }
  return Status::Ok();
}

// The replica contract's variables over the agent's own; the spec's env wins.
void set_environment(LaunchSpec& spec, const protocol::LaunchReplica& msg,
                     const std::map<std::string, std::string>& base_env,
                     const fs::path& replica_dir) {
  spec.env = base_env;
  spec.env["CADRE_JOB"] = msg.job;
  spec.env["CADRE_NAMESPACE"] = msg.ns;
  spec.env["CADRE_REPLICA_TYPE"] = msg.replica_type;
  spec.env["CADRE_REPLICA_INDEX"] = std::to_string(msg.replica_index);
  spec.env["CADRE_RANK"] = std::to_string(msg.rank);
  spec.env["CADRE_WORLD_SIZE"] = std::to_string(msg.world_size);
  for (const auto& [name, value] : msg.env) spec.env[name] = value;
  if (msg.env.count("TMPDIR") == 0) {
    // A private /tmp, as a pod has: scratch files of two replicas (or of a replica
    // and what an earlier run left behind) never meet. OpenMPI names its session
    // folder by a hash that can repeat across runs, and a stale one in a shared /tmp
    // failed orted's start ("File exists").
    const std::string tmp = (replica_dir / "tmp").string();
    spec.env["TMPDIR"] = tmp;
    spec.create_dirs.push_back(tmp);
  }

  std::string devices;
  for (int32_t index : msg.gpu_indices) {
    if (!devices.empty()) devices += ",";
    devices += std::to_string(index);
  }
  spec.env["CUDA_VISIBLE_DEVICES"] = devices;
  if (msg.env.count("CUDA_DEVICE_ORDER") == 0) spec.env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";

  if (!msg.hostfile.empty()) {
    const std::string hostfile = (replica_dir / "hostfile").string();
    spec.files[hostfile] = msg.hostfile;
    spec.env["CADRE_HOSTFILE"] = hostfile;
    spec.env["OMPI_MCA_orte_default_hostfile"] = hostfile;
  }
}

Status set_metrics(LaunchSpec& spec, const protocol::MetricsCollection& metrics) {
  spec.metrics = metrics;
  if (spec.metrics.source.empty()) spec.metrics.source = "stdout";
  if (spec.metrics.source != "stdout" && spec.metrics.source != "file" &&
      spec.metrics.source != "push") {
    return InvalidArgument("unknown metrics source '" + spec.metrics.source.substr(0, 32) + "'");
  }
  if (spec.metrics.source == "file") {
    if (spec.metrics.file.empty())
      return InvalidArgument("the File metrics collector needs a path");
    // Relative to where the program runs, as a program's own relative paths are.
    spec.metrics.file =
        (fs::path(spec.working_dir) / spec.metrics.file).lexically_normal().string();
  }
  return Status::Ok();
}

void set_checkpoint_dir(LaunchSpec& spec, const protocol::LaunchReplica& msg,
                        const std::string& work_dir) {
  if (msg.env.count("CADRE_CHECKPOINT_DIR") == 0) {
    const fs::path checkpoint_dir = fs::path(work_dir) / "checkpoints" / msg.job;
    spec.env["CADRE_CHECKPOINT_DIR"] = checkpoint_dir.string();
    spec.create_dirs.push_back(checkpoint_dir.string());
    return;
  }
  // The coordinator's shared checkpoint root: programs may expect it to exist. A
  // spec may override the variable, but the agent creates only what lies in that
  // root or its own work dir, never a folder a job merely names.
  const fs::path dir = fs::path(msg.env.at("CADRE_CHECKPOINT_DIR")).lexically_normal();
  const bool ours = (!msg.checkpoint_root.empty() &&
                     inside(dir, fs::path(msg.checkpoint_root).lexically_normal())) ||
                    inside(dir, fs::path(work_dir).lexically_normal());
  if (dir.is_absolute() && ours) spec.create_dirs.push_back(dir.string());
}

}  // namespace

Result<LaunchSpec> make_launch_spec(const protocol::LaunchReplica& msg, const std::string& work_dir,
                                    const std::map<std::string, std::string>& base_env) {
  if (Status bad = check_names(msg); !bad.ok()) return bad;
  const fs::path replica_dir = fs::path(work_dir) / "replicas" / msg.uid;

  LaunchSpec spec;
  spec.uid = msg.uid;
  spec.outlives_lease = msg.outlives_lease;
  spec.job = msg.job;
  spec.argv = msg.command;
  spec.argv.insert(spec.argv.end(), msg.args.begin(), msg.args.end());
  spec.replica_dir = replica_dir.string();
  spec.log_path = replica_log_path(work_dir, msg.uid);
  spec.create_dirs.push_back(spec.replica_dir);
  spec.memory_bytes = msg.memory_bytes;
  spec.cpu_millis = msg.cpu_millis;
  spec.gpu_indices = msg.gpu_indices;
  if (Status bad = set_working_dir(spec, msg.working_dir, replica_dir); !bad.ok()) return bad;
  set_environment(spec, msg, base_env, replica_dir);
  if (Status bad = set_metrics(spec, msg.metrics); !bad.ok()) return bad;
  set_checkpoint_dir(spec, msg, work_dir);
  return spec;
}

}  // namespace cadre::agent

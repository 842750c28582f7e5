#include "actors/replica_environment.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

namespace cadre::actors {
namespace {

using protocol::ReplicaStatus;

std::string endpoint(const ReplicaStatus& r) { return r.address + ":" + std::to_string(r.port); }

std::string lower(std::string type) {
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

// The replicas that form a PyTorch world: Chief/Master first (rank 0), then Workers.
bool in_torch_world(const ReplicaStatus& r) {
  return r.type == "Main" || r.type == "Chief" || r.type == "Master" || r.type == "Worker";
}

// TFJob's TF_CONFIG: the cluster without evaluators and launchers, and this task.
std::string tf_config(const std::vector<ReplicaStatus>& replicas, const ReplicaStatus& self) {
  nlohmann::json cluster = nlohmann::json::object();
  for (const auto& r : replicas) {
    if (r.type == "PS" || r.type == "Chief" || r.type == "Master" || r.type == "Worker") {
      cluster[lower(r.type)].push_back(endpoint(r));
    }
  }
  nlohmann::json config = {{"cluster", cluster},
                           {"task", {{"type", lower(self.type)}, {"index", self.index}}},
                           {"environment", "cloud"}};
  return config.dump();
}

}  // namespace

std::string mpi_host_name(const std::string& job, const ReplicaStatus& replica) {
  return job + "-" + replica.name;
}

namespace {

using Env = std::map<std::string, std::string>;

// Cadre's own variables, and CADRE_PEERS / TF_CONFIG when every replica has a port.
void add_cadre_env(const std::vector<ReplicaStatus>& replicas, const ReplicaStatus& self,
                   const JobIdentity& job, Env& env) {
  env["CADRE_JOB"] = job.name;
  env["CADRE_NAMESPACE"] = job.ns;
  env["CADRE_REPLICA_TYPE"] = self.type;
  env["CADRE_REPLICA_INDEX"] = std::to_string(self.index);
  env["CADRE_RANK"] = std::to_string(self.rank);
  env["CADRE_WORLD_SIZE"] = std::to_string(replicas.size());
  env["CADRE_JOB_TOKEN"] = job.token;
  env["CADRE_GENERATION"] = std::to_string(fencing_generation(job.created_ms, self.uid));
  if (!job.checkpoint_dir.empty()) env["CADRE_CHECKPOINT_DIR"] = job.checkpoint_dir;
  bool all_ports = true;
  std::string peers;
  for (const auto& r : replicas) {
    all_ports = all_ports && r.port != 0;
    peers += (peers.empty() ? "" : ",") + endpoint(r);
  }
  // Without ports (an agent with no port range) an endpoint would be a lie.
  if (!all_ports) return;
  env["CADRE_PEERS"] = peers;
  if (self.type != "Main" && self.type != "Launcher") env["TF_CONFIG"] = tf_config(replicas, self);
}

// PyTorchJob: the Chief/Master (else worker 0) is rank 0 and hosts the rendezvous.
void add_torch_env(const std::vector<ReplicaStatus>& replicas, const ReplicaStatus& self,
                   Env& env) {
  int32_t rank = 0, world = 0, local_rank = 0;
  const ReplicaStatus* master = nullptr;
  for (const auto& r : replicas) {
    if (!in_torch_world(r)) continue;
    if (master == nullptr) master = &r;
    if (&r == &self) rank = world;
    ++world;
  }
  // LOCAL_RANK: this replica's position among the world's replicas on its node.
  for (const auto& r : replicas) {
    if (&r == &self) break;
    if (in_torch_world(r) && r.node == self.node) ++local_rank;
  }
  env["RANK"] = std::to_string(rank);
  env["WORLD_SIZE"] = std::to_string(world);
  env["LOCAL_RANK"] = std::to_string(local_rank);
  if (master != nullptr && master->port != 0) {
    env["MASTER_ADDR"] = master->address;
    env["MASTER_PORT"] = std::to_string(master->port);
  }
}

// MPIJob: the launcher's mpirun reaches the workers through cadre-rsh (docs/mpi.md).
void add_mpi_launcher(const std::vector<ReplicaStatus>& replicas, const JobIdentity& job,
                      protocol::LaunchReplica& launch) {
  auto& env = launch.env;
  std::string hosts;
  for (const auto& r : replicas) {
    if (r.type != "Worker") continue;
    const std::string host = mpi_host_name(job.name, r);
    launch.hostfile += host + " slots=1\n";
    hosts += (hosts.empty() ? "" : ",") + host + "=" + endpoint(r);
  }
  env["CADRE_MPI_HOSTS"] = hosts;
  // docs/mpi.md says why each is needed (OpenMPI 4.1).
  env["OMPI_MCA_plm_rsh_agent"] = "cadre-rsh";         // start orted through the Workers
  env["OMPI_MCA_plm_rsh_no_tree_spawn"] = "1";         // only the launcher knows the hosts
  env["OMPI_MCA_orte_leave_session_attached"] = "1";   // orted dies with its session
  env["OMPI_MCA_orte_keep_fqdn_hostnames"] = "1";      // names are opaque, dots included
  env["OMPI_MCA_hwloc_base_binding_policy"] = "none";  // Cadre places; no core-0 pinning
  // orted maps hwloc's topology into a "hole" it guesses in its address space; when
  // the guess collides (ASLR) orted segfaults in hwloc_shmem_topology_write. Without
  // binding the shared topology buys nothing, so do not share it.
  env["OMPI_MCA_rtc_hwloc_vmhole"] = "none";
  env["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
  env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
}

}  // namespace

protocol::LaunchReplica make_launch(const spec::TrainJobSpec& spec,
                                    const std::vector<ReplicaStatus>& replicas, size_t i,
                                    const JobIdentity& job) {
  const ReplicaStatus& self = replicas[i];
  const auto& tmpl = spec.find(self.type)->tmpl;
  protocol::LaunchReplica launch;
  launch.uid = self.uid;
  launch.job = job.name;
  launch.ns = job.ns;
  launch.replica_type = self.type;
  launch.replica_index = self.index;
  launch.rank = self.rank;
  launch.world_size = static_cast<int32_t>(replicas.size());
  launch.command = tmpl.command;
  launch.args = tmpl.args;
  launch.working_dir = tmpl.working_dir;
  launch.cpu_millis = tmpl.resources.cpu_millis;
  launch.memory_bytes = tmpl.resources.memory_bytes;
  launch.gpu_indices = self.gpu_indices;
  launch.port = self.port;
  launch.checkpoint_root = job.checkpoint_root;
  launch.metrics = job.metrics;
  launch.readiness_path = job.readiness_path;
  // Probed replicas are servers: stateless, so the lease need not stop them.
  launch.outlives_lease = !job.readiness_path.empty();
  add_cadre_env(replicas, self, job, launch.env);
  if (in_torch_world(self)) add_torch_env(replicas, self, launch.env);
  if (self.type == "Launcher") add_mpi_launcher(replicas, job, launch);
  for (const auto& var : tmpl.env) launch.env[var.name] = var.value;  // the user's env wins
  return launch;
}

std::string replica_uid_prefix(const std::string& job, int64_t created_ms) {
  std::string incarnation;
  uint64_t v = static_cast<uint64_t>(std::max<int64_t>(0, created_ms));
  do {
    incarnation.insert(incarnation.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
    v /= 36;
  } while (v > 0);
  return job + "-" + incarnation + "-";
}

std::string replica_uid(const std::string& job, int64_t created_ms, const std::string& replica,
                        int32_t instance) {
  return replica_uid_prefix(job, created_ms) + replica + "-" + std::to_string(instance);
}

int64_t fencing_generation(int64_t created_ms, const std::string& uid) {
  // The instance number ends the uid (JobStateMachine::new_instance). A million
  // instances per job, and milliseconds until the year 2262, fit in 63 bits.
  const std::string suffix = uid.substr(uid.rfind('-') + 1);
  char* end = nullptr;
  const long long instance = std::strtoll(suffix.c_str(), &end, 10);
  const int64_t n = (end != suffix.c_str() && *end == '\0') ? instance % 1000000 : 0;
  return created_ms * 1000000 + n;
}

}  // namespace cadre::actors

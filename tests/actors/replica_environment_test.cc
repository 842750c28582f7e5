#include "actors/replica_environment.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actors/gang_rules.h"

namespace cadre::actors::replica_environment_test {
namespace {

spec::TrainJobSpec train_job(std::vector<std::pair<std::string, int>> types) {
  spec::TrainJobSpec s;
  s.metadata.name = "fm";
  for (const auto& [type, count] : types) {
    spec::ReplicaSpec rs;
    rs.type = type;
    rs.replicas = count;
    rs.tmpl.command = {"cadre-train"};
    rs.tmpl.args = {"--epochs", "1"};
    s.replica_specs.push_back(rs);
  }
  return s;
}

// Places replica k on node "n<k % nodes>" at 10.0.0.<k % nodes>:31000+k.
std::vector<protocol::ReplicaStatus> placed(const spec::TrainJobSpec& s, int nodes) {
  auto replicas = initial_replicas(s);
  for (size_t k = 0; k < replicas.size(); ++k) {
    auto& r = replicas[k];
    r.node = "n" + std::to_string(k % nodes);
    r.address = "10.0.0." + std::to_string(k % nodes);
    r.port = 31000 + static_cast<int>(k);
    r.uid = "fm-" + r.name + "-" + std::to_string(k);
  }
  return replicas;
}

const JobIdentity kJob{"fm", "default", "tok", "/ckpt/default/fm", "/ckpt", 0, {}, ""};

TEST(ReplicaEnvironment, EveryReplicaGetsCadreVariablesAndRankOrderedPeers) {
  auto s = train_job({{"Worker", 3}});
  auto replicas = placed(s, 2);
  for (size_t i = 0; i < replicas.size(); ++i) {
    auto launch = make_launch(s, replicas, i, kJob);
    EXPECT_EQ(launch.uid, replicas[i].uid);
    EXPECT_EQ(launch.port, 31000 + static_cast<int>(i));
    EXPECT_EQ(launch.env.at("CADRE_RANK"), std::to_string(i));
    EXPECT_EQ(launch.env.at("CADRE_WORLD_SIZE"), "3");
    EXPECT_EQ(launch.env.at("CADRE_REPLICA_TYPE"), "Worker");
    EXPECT_EQ(launch.env.at("CADRE_REPLICA_INDEX"), std::to_string(i));
    EXPECT_EQ(launch.env.at("CADRE_PEERS"), "10.0.0.0:31000,10.0.0.1:31001,10.0.0.0:31002");
    EXPECT_EQ(launch.env.at("CADRE_CHECKPOINT_DIR"), "/ckpt/default/fm");
    EXPECT_EQ(launch.checkpoint_root, "/ckpt");
    EXPECT_EQ(launch.env.at("CADRE_JOB_TOKEN"), "tok");
  }
}

TEST(ReplicaEnvironment, AProbedServerIsProbedAndOutlivesTheLeaseWhileTrainingReplicasDoNot) {
  auto s = train_job({{"Worker", 1}});
  auto replicas = placed(s, 1);
  EXPECT_FALSE(make_launch(s, replicas, 0, kJob).outlives_lease);
  JobIdentity server = kJob;
  server.readiness_path = "/v2/health/ready";
  const auto launch = make_launch(s, replicas, 0, server);
  EXPECT_TRUE(launch.outlives_lease);
  EXPECT_EQ(launch.readiness_path, "/v2/health/ready");
}

TEST(ReplicaEnvironment, FencingGenerationsGrowWithinAJobAndAcrossItsRecreation) {
  EXPECT_LT(fencing_generation(1000, "fm-worker-0-3"), fencing_generation(1000, "fm-worker-0-4"));
  EXPECT_LT(fencing_generation(1000, "fm-worker-0-999"), fencing_generation(1001, "fm-worker-0-0"))
      << "the same name created again later outranks every instance of the first";
  EXPECT_EQ(fencing_generation(1764400000000, "fm-main-0-7"), 1764400000000000007);
}

TEST(ReplicaEnvironment, AUidNamesTheJobItsIncarnationTheReplicaAndEndsInItsInstance) {
  EXPECT_EQ(replica_uid("fm", 1'700'000'000'000, "worker-0", 3), "fm-loyw3v28-worker-0-3");
  EXPECT_EQ(replica_uid("fm", 0, "main-0", 0), "fm-0-main-0-0");
  EXPECT_NE(replica_uid("fm", 1000, "main-0", 0), replica_uid("fm", 1001, "main-0", 0));
  const std::string uid = replica_uid("fm", 1000, "main-0", 7);
  EXPECT_EQ(fencing_generation(1000, uid), 1000 * 1000000 + 7) << "the instance stays last";
}

TEST(ReplicaEnvironment, PyTorchVariablesMakeMasterRankZeroAndCountLocalRanksPerNode) {
  auto s = train_job({{"Master", 1}, {"Worker", 3}});
  auto replicas = placed(s, 2);  // master, worker-1 on n0; worker-0, worker-2 on n1
  auto master = make_launch(s, replicas, 0, kJob).env;
  EXPECT_EQ(master.at("RANK"), "0");
  EXPECT_EQ(master.at("WORLD_SIZE"), "4");
  EXPECT_EQ(master.at("MASTER_ADDR"), "10.0.0.0");
  EXPECT_EQ(master.at("MASTER_PORT"), "31000");
  EXPECT_EQ(master.at("LOCAL_RANK"), "0");
  auto worker2 = make_launch(s, replicas, 3, kJob).env;
  EXPECT_EQ(worker2.at("RANK"), "3");
  EXPECT_EQ(worker2.at("MASTER_PORT"), "31000");
  EXPECT_EQ(worker2.at("LOCAL_RANK"), "1");  // second of the world on n1
}

TEST(ReplicaEnvironment, TfConfigListsTheClusterAsTfJobDoesAndNamesTheTask) {
  auto s = train_job({{"PS", 1}, {"Chief", 1}, {"Worker", 2}, {"Evaluator", 1}});
  auto replicas = placed(s, 5);
  auto env = make_launch(s, replicas, 3, kJob).env;  // worker-1
  auto tf = nlohmann::json::parse(env.at("TF_CONFIG"));
  EXPECT_EQ(tf["cluster"]["ps"], nlohmann::json({"10.0.0.0:31000"}));
  EXPECT_EQ(tf["cluster"]["chief"], nlohmann::json({"10.0.0.1:31001"}));
  EXPECT_EQ(tf["cluster"]["worker"], nlohmann::json({"10.0.0.2:31002", "10.0.0.3:31003"}));
  EXPECT_FALSE(tf["cluster"].contains("evaluator"));
  EXPECT_EQ(tf["task"]["type"], "worker");
  EXPECT_EQ(tf["task"]["index"], 1);
  auto ps = make_launch(s, replicas, 0, kJob).env;
  EXPECT_EQ(nlohmann::json::parse(ps.at("TF_CONFIG"))["task"]["type"], "ps");
  EXPECT_EQ(ps.count("RANK"), 0u);  // parameter servers are not in the PyTorch world
}

TEST(ReplicaEnvironment, MpiLauncherGetsAHostfileOfWorkersAndTheirEndpoints) {
  auto s = train_job({{"Launcher", 1}, {"Worker", 2}});
  auto replicas = placed(s, 2);  // worker-0, worker-1, launcher-0
  auto launch = make_launch(s, replicas, 2, kJob);
  EXPECT_EQ(launch.hostfile, "fm-worker-0 slots=1\nfm-worker-1 slots=1\n");
  EXPECT_EQ(launch.env.at("CADRE_MPI_HOSTS"),
            "fm-worker-0=10.0.0.0:31000,fm-worker-1=10.0.0.1:31001");
  EXPECT_EQ(launch.env.at("OMPI_MCA_plm_rsh_agent"), "cadre-rsh");
  EXPECT_EQ(launch.env.at("OMPI_MCA_plm_rsh_no_tree_spawn"), "1");
  EXPECT_EQ(launch.env.at("OMPI_MCA_orte_keep_fqdn_hostnames"), "1");
  EXPECT_TRUE(make_launch(s, replicas, 0, kJob).hostfile.empty());
}

TEST(ReplicaEnvironment, UserEnvWinsOverTheContract) {
  auto s = train_job({{"Worker", 1}});
  s.replica_specs[0].tmpl.env = {{"CADRE_CHECKPOINT_DIR", "/mine"}, {"LR", "0.1"}};
  auto env = make_launch(s, placed(s, 1), 0, kJob).env;
  EXPECT_EQ(env.at("CADRE_CHECKPOINT_DIR"), "/mine");
  EXPECT_EQ(env.at("LR"), "0.1");
}

TEST(ReplicaEnvironment, WithoutPortsThereAreNoEndpointsToAdvertise) {
  auto s = train_job({{"Worker", 2}});
  auto replicas = placed(s, 1);
  for (auto& r : replicas) r.port = 0;
  auto env = make_launch(s, replicas, 0, kJob).env;
  EXPECT_EQ(env.count("CADRE_PEERS"), 0u);
  EXPECT_EQ(env.count("TF_CONFIG"), 0u);
  EXPECT_EQ(env.count("MASTER_ADDR"), 0u);
  EXPECT_EQ(env.at("RANK"), "0");
}

}  // namespace
}  // namespace cadre::actors::replica_environment_test

// mpirun through cadre-rsh, as an MPI TrainJob runs it (docs/mpi.md): two
// `cadre-rsh serve` Workers on 127.0.0.1, a hostfile naming them by replica
// names that resolve nowhere, and the Launcher environment the coordinator sets.
// Label mpi.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "tests/rsh/rsh_test_support.h"

namespace cadre::testing {
namespace {

const std::string kBinary = CADRE_RSH_BINARY;
const std::string kMpirun = CADRE_MPIRUN;
const std::string kProbe = CADRE_MPI_PROBE;
const std::string kToken = "mpi-job-token-5f1c";

struct RankLine {
  int rank, size, sum;
  std::set<int> ancestors;
};

std::vector<RankLine> rank_lines(const std::string& out) {
  static const std::regex line(R"(rank=(\d+) size=(\d+) sum=(-?\d+) ancestors=([0-9,]*))");
  std::vector<RankLine> lines;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator();
       ++it) {
    RankLine r{std::stoi((*it)[1]), std::stoi((*it)[2]), std::stoi((*it)[3]), {}};
    std::stringstream pids((*it)[4]);
    for (std::string pid; std::getline(pids, pid, ',');) r.ancestors.insert(std::stoi(pid));
    lines.push_back(r);
  }
  return lines;
}

class MpirunThroughCadreRsh : public ::testing::Test {
 protected:
  void SetUp() override {
    // Each Worker finds its port as the coordinator arranges it: entry CADRE_RANK
    // of CADRE_PEERS (rank 0 here would be the Launcher's own entry).
    const int launcher_port = free_port(), port_a = free_port(), port_b = free_port();
    const std::string peers = "127.0.0.1:" + std::to_string(port_a) +
                              ",127.0.0.1:" + std::to_string(port_b) +
                              ",127.0.0.1:" + std::to_string(launcher_port);
    for (int i = 0; i < 2; ++i) {
      workers_.push_back(std::make_unique<ServeProcess>(
          kBinary, std::vector<std::string>{},
          std::map<std::string, std::string>{{"CADRE_JOB_TOKEN", kToken},
                                             {"CADRE_JOB", "mpi-test"},
                                             {"CADRE_REPLICA_TYPE", "Worker"},
                                             {"CADRE_REPLICA_INDEX", std::to_string(i)},
                                             {"CADRE_RANK", std::to_string(i)},
                                             {"CADRE_PEERS", peers}},
          dir_.file("worker-" + std::to_string(i) + ".log")));
      ASSERT_TRUE(workers_.back()->ready()) << workers_.back()->output();
    }
    hostfile_ = dir_.file("hostfile");
    std::ofstream(hostfile_) << "mpi-test-worker-0 slots=1\nmpi-test-worker-1 slots=1\n";
    hosts_ = "mpi-test-worker-0=127.0.0.1:" + std::to_string(port_a) +
             ",mpi-test-worker-1=127.0.0.1:" + std::to_string(port_b);
  }

  // The Launcher environment of docs/mpi.md, plus loopback-only networking for a
  // single-machine test.
  std::map<std::string, std::string> launcher_env(const std::string& token) const {
    const std::string bin_dir = std::filesystem::path(kBinary).parent_path();
    return {{"PATH", bin_dir + ":" + std::getenv("PATH")},
            {"CADRE_JOB_TOKEN", token},
            {"CADRE_MPI_HOSTS", hosts_},
            {"CADRE_HOSTFILE", hostfile_},
            {"OMPI_MCA_orte_default_hostfile", hostfile_},
            {"OMPI_MCA_plm_rsh_agent", "cadre-rsh"},
            {"OMPI_MCA_plm_rsh_no_tree_spawn", "1"},
            {"OMPI_MCA_orte_leave_session_attached", "1"},
            {"OMPI_MCA_orte_keep_fqdn_hostnames", "1"},
            {"OMPI_MCA_hwloc_base_binding_policy", "none"},
            // As Cadre's launchers have it (actors/replica_environment.cc): orted
            // otherwise segfaults now and then in hwloc_shmem_topology_write.
            {"OMPI_MCA_rtc_hwloc_vmhole", "none"},
            {"OMPI_ALLOW_RUN_AS_ROOT", "1"},
            {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"},
            {"CADRE_RSH_CONNECT_TIMEOUT_S", "5"},
            {"OMPI_MCA_oob_tcp_if_include", "lo"},
            {"OMPI_MCA_btl_tcp_if_include", "lo"}};
  }

  ScratchDir dir_;
  std::vector<std::unique_ptr<ServeProcess>> workers_;
  std::string hostfile_, hosts_;
};

TEST_F(MpirunThroughCadreRsh, RunsOneRankUnderEachWorkerAndAllReducesTheirRanks) {
  ChildProcess mpirun({kMpirun, "-np", "2", kProbe}, launcher_env(kToken), dir_.file("mpirun.log"));
  const auto exit_code = mpirun.wait(90s);
  ASSERT_TRUE(exit_code.has_value()) << "mpirun hung:\n" << mpirun.output();
  ASSERT_EQ(*exit_code, 0) << mpirun.output();

  const auto lines = rank_lines(mpirun.output());
  ASSERT_EQ(lines.size(), 2u) << mpirun.output();
  std::set<int> ranks;
  for (const auto& line : lines) {
    ranks.insert(line.rank);
    EXPECT_EQ(line.size, 2);
    EXPECT_EQ(line.sum, 0 + 1) << "rank " << line.rank;
    // Rank r descends from worker r's serve (slots=1, filled in hostfile order)
    // and not from the other one, nor from mpirun directly.
    EXPECT_EQ(line.ancestors.count(workers_[line.rank]->pid()), 1u) << "rank " << line.rank;
    EXPECT_EQ(line.ancestors.count(workers_[1 - line.rank]->pid()), 0u) << "rank " << line.rank;
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
  for (auto& worker : workers_) {
    // mpirun by absolute path prefixes PATH/LD_LIBRARY_PATH exports, so match loosely.
    EXPECT_NE(worker->output().find("orted -mca"), std::string::npos) << worker->output();
    // orted exits once mpirun tells it to, which may be just after mpirun returns.
    EXPECT_TRUE(eventually([&] {
      return worker->output().find("exited code=0") != std::string::npos;
    })) << worker->output();
  }
  // Killed when the job finishes: each Worker exits 0.
  for (auto& worker : workers_) {
    worker->signal(SIGTERM);
    EXPECT_EQ(worker->wait(10s), 0) << worker->output();
  }
}

TEST_F(MpirunThroughCadreRsh, AWrongTokenFailsTheLaunchAndNoRankRuns) {
  ChildProcess mpirun({kMpirun, "-np", "2", kProbe}, launcher_env("stolen-token-0123456789"),
                      dir_.file("mpirun.log"));
  const auto exit_code = mpirun.wait(90s);
  ASSERT_TRUE(exit_code.has_value()) << "mpirun hung:\n" << mpirun.output();
  EXPECT_NE(*exit_code, 0);
  EXPECT_NE(mpirun.output().find("authentication failed"), std::string::npos) << mpirun.output();
  EXPECT_TRUE(rank_lines(mpirun.output()).empty()) << mpirun.output();
  // mpirun gives up at the first refusal and may kill the other launch before it
  // connects, so at least one Worker refused, and neither ran anything.
  // A refusal is logged on the Worker's next accept round (within 200 ms).
  EXPECT_TRUE(eventually([&] {
    int refusals = 0;
    for (auto& worker : workers_) {
      refusals += worker->output().find("did not prove the job token") != std::string::npos;
    }
    return refusals >= 1;
  }));
  for (auto& worker : workers_) {
    EXPECT_EQ(worker->output().find("running:"), std::string::npos) << worker->output();
  }
}

}  // namespace
}  // namespace cadre::testing

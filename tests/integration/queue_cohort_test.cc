// Cohorts of queues (Kueue's cohort and reclaimWithinCohort: Any) on a real local
// cluster: a queue borrows its cohort's unused quota, `cadre get queues` shows it,
// and the lender's gang takes its quota back by preempting the borrower, which runs
// again once there is room.
#include <string>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

class QueueCohorts : public LocalCluster {
 protected:
  std::string coordinator_yaml() const override {
    return "queue-quota: ['team-a:cpu=1,cohort=lab,reclaim=Any', 'team-b:cpu=1,cohort=lab']\n";
  }

  static std::string gang(const std::string& name, const std::string& queue, int workers,
                          int priority, const std::string& script) {
    return "apiVersion: cadre/v1\nkind: TrainJob\nmetadata: {name: " + name +
           "}\nspec:\n  runPolicy:\n    schedulingPolicy: {queue: " + queue +
           ", priority: " + std::to_string(priority) +
           "}\n  replicaSpecs:\n    Worker:\n      replicas: " + std::to_string(workers) +
           "\n      template:\n        command: [sh, -c, '" + script +
           "']\n        resources: {cpu: 1}\n";
  }
};

TEST_F(QueueCohorts, AQueueBorrowsItsCohortsRoomAndTheLenderReclaimsIt) {
  ASSERT_EQ(apply(gang("borrower", "team-b", 2, 10, "sleep 8; echo borrower done")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return get_json("trainjobs borrower")["phase"] == "Running"; }, 15s))
      << get_json("trainjobs borrower").dump();
  const auto b = get_json("queues team-b");
  EXPECT_EQ(b["cohort"], "lab");
  EXPECT_EQ(b["quota"]["cpus"], 1.0);
  EXPECT_EQ(b["used"]["cpus"], 2.0) << "one core past its quota, lent by team-a";
  EXPECT_EQ(b["borrowing"], true);
  EXPECT_EQ(b["admitted"], 1);
  const std::string table = cadre("get queues -o wide").output;
  EXPECT_NE(table.find("COHORT"), std::string::npos) << table;
  EXPECT_NE(table.find("team-b"), std::string::npos) << table;
  EXPECT_NE(table.find("Any"), std::string::npos) << table;
  EXPECT_EQ(b["admittedJobs"], nlohmann::json::array({"borrower"}));
  const std::string described = cadre("describe queue team-b").output;
  EXPECT_NE(described.find("Borrowing:  yes"), std::string::npos) << described;
  EXPECT_NE(described.find("Admitted (1):\n  borrower\n"), std::string::npos) << described;

  // team-a asks for its own core back: its gang is placed once the borrower stopped,
  // though the borrower's priority is higher.
  ASSERT_EQ(apply(gang("mine", "team-a", 1, 0, "echo mine ran")).exit_code, 0);
  ASSERT_EQ(cadre("wait trainjob/mine --for Succeeded --timeout 30").exit_code, 0)
      << get_json("trainjobs mine").dump() << get_json("trainjobs borrower").dump();
  const std::string preempted = cadre("describe trainjob/borrower").output;
  EXPECT_NE(preempted.find("preempted by job mine (queue team-a reclaiming its quota, which "
                           "queue team-b borrowed in cohort lab)"),
            std::string::npos)
      << preempted;
  ASSERT_EQ(cadre("wait trainjob/borrower --for Succeeded --timeout 40").exit_code, 0)
      << get_json("trainjobs borrower").dump();
  EXPECT_EQ(get_json("trainjobs borrower")["restarts"], 0) << "a reclaim is not counted";
  EXPECT_EQ(get_json("queues team-b")["admitted"], 0);
  EXPECT_EQ(cadre("get queue/nosuch").exit_code, 1);
}

}  // namespace
}  // namespace cadre::testing

// Queue quotas (--queue-quota, Kueue's nominalQuota) on a real local cluster: a
// queue's gangs wait for its quota while the nodes have room, and a gang larger
// than the quota fails at once.
#include <string>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

class QueueQuotas : public LocalCluster {
 protected:
  std::string coordinator_yaml() const override { return "queue-quota: ['research:cpu=1']\n"; }

  static std::string gang(const std::string& name, const std::string& queue, int workers,
                          const std::string& script) {
    return "apiVersion: cadre/v1\nkind: TrainJob\nmetadata: {name: " + name +
           "}\nspec:\n  runPolicy:\n    schedulingPolicy: {queue: " + queue +
           "}\n  replicaSpecs:\n    Worker:\n      replicas: " + std::to_string(workers) +
           "\n      template:\n        command: [sh, -c, '" + script +
           "']\n        resources: {cpu: 1}\n";
  }
};

TEST_F(QueueQuotas, AQueuesGangsTakeTurnsWithinItsQuotaWhileOtherQueuesRun) {
  ASSERT_EQ(apply(gang("first", "research", 1, "sleep 3; echo first done")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return get_json("trainjobs first")["phase"] == "Running"; }, 15s));
  ASSERT_EQ(apply(gang("second", "research", 1, "echo second done")).exit_code, 0);
  ASSERT_EQ(apply(gang("elsewhere", "default", 1, "echo elsewhere done")).exit_code, 0);
  ASSERT_EQ(cadre("wait trainjob/elsewhere --for Succeeded --timeout 15").exit_code, 0)
      << "another queue is not held by research's quota";
  ASSERT_TRUE(eventually(
      [&] {
        return get_json("trainjobs second")
                   .value("message", "")
                   .find("waiting for room in queue research's quota (cpu=1)") != std::string::npos;
      },
      10s))
      << get_json("trainjobs second").dump();
  EXPECT_EQ(get_json("trainjobs second")["phase"], "Queued");
  ASSERT_EQ(cadre("wait trainjob/second --for Succeeded --timeout 30").exit_code, 0)
      << get_json("trainjobs second").dump();
  EXPECT_EQ(get_json("trainjobs first")["phase"], "Succeeded") << "second ran after first";

  ASSERT_EQ(apply(gang("too-big", "research", 2, "true")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return get_json("trainjobs too-big")["phase"] == "Failed"; }, 10s));
  const auto big = get_json("trainjobs too-big");
  EXPECT_EQ(big["reason"], "Unschedulable");
  EXPECT_NE(big.value("message", "").find("queue research's quota is cpu=1"), std::string::npos)
      << big.dump();
}

}  // namespace
}  // namespace cadre::testing

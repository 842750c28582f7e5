// Queue quotas (--queue-quota, Kueue's nominalQuota) on a real local cluster: a
// queue's gangs wait for its quota while the nodes have room, and a gang larger
// than the quota fails at once.
#include <signal.h>

#include <fstream>
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

TEST_F(QueueQuotas, AQuotaChangedInTheConfigurationTakesEffectOnSighupWithoutARestart) {
  ASSERT_EQ(apply(gang("held", "research", 1, "sleep 30")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return get_json("trainjobs held")["phase"] == "Running"; }, 15s));
  ASSERT_EQ(apply(gang("next", "research", 1, "echo next done")).exit_code, 0);
  ASSERT_TRUE(eventually(
      [&] {
        return get_json("trainjobs next").value("message", "").find("research's quota (cpu=1)") !=
               std::string::npos;
      },
      10s))
      << get_json("trainjobs next").dump();

  // A configuration that no longer reads changes nothing.
  std::ofstream(path("coordinator/coordinator.yaml")) << "queue-quota: ['research:disks=2']\n";
  ASSERT_EQ(::kill(pid_of("coordinator"), SIGHUP), 0);
  ASSERT_TRUE(eventually(
      [&] {
        return read_file(path("logs/coordinator.log")).find("queue quotas unchanged") !=
               std::string::npos;
      },
      10s));
  EXPECT_EQ(get_json("queues research")["quota"]["cpus"], 1.0);
  EXPECT_EQ(get_json("trainjobs next")["phase"], "Queued");

  std::ofstream(path("coordinator/coordinator.yaml")) << "queue-quota: ['research:cpu=2']\n";
  ASSERT_EQ(::kill(pid_of("coordinator"), SIGHUP), 0);
  ASSERT_EQ(cadre("wait trainjob/next --for Succeeded --timeout 20").exit_code, 0)
      << get_json("trainjobs next").dump();
  EXPECT_EQ(get_json("trainjobs held")["phase"], "Running") << "the raised quota holds both";
  EXPECT_EQ(get_json("queues research")["quota"]["cpus"], 2.0);
  EXPECT_EQ(get_json("trainjobs held")["restarts"], 0) << "no restart of anything";
}

}  // namespace
}  // namespace cadre::testing

// The commands that act on nodes and jobs themselves: cordon, drain, suspend, resume.
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/job_commands.h"
#include "client/listing.h"
#include "client/node_commands.h"
#include "tests/client/fake_coordinator.h"
#include "tests/support/status_matchers.h"

namespace cadre::client {
namespace {

TEST(CordonNode, SaysWhatChangedAndWhatAlreadyWasAsKubectlDoes) {
  FakeCoordinator fake;
  fake.cordoned["local-1"] = false;
  std::ostringstream out;
  ASSERT_OK(cordon_node(fake, "local-1", true, out));
  ASSERT_OK(cordon_node(fake, "local-1", true, out));
  ASSERT_OK(cordon_node(fake, "local-1", false, out));
  ASSERT_OK(cordon_node(fake, "local-1", false, out));
  EXPECT_EQ(out.str(),
            "node/local-1 cordoned\nnode/local-1 already cordoned\n"
            "node/local-1 uncordoned\nnode/local-1 already uncordoned\n");
  EXPECT_EQ(cordon_node(fake, "gpu-9", true, out).message(), "node/gpu-9 not found");
}

TEST(NodeListing, ACordonedNodeReadsSchedulingDisabledAndUnschedulable) {
  protocol::NodeStatus node;
  node.name = "local-1";
  node.state = protocol::NodeState::kReady;
  node.cordoned = true;
  protocol::GetReply reply;
  reply.nodes = {node};
  const auto ref = *parse_resource_ref({"nodes"});
  EXPECT_NE(listing_table(ref, reply, 0, false).find("local-1   Ready,SchedulingDisabled"),
            std::string::npos)
      << listing_table(ref, reply, 0, false);
  EXPECT_EQ(listing_json(ref, reply)[0]["unschedulable"], true);
  reply.nodes[0].cordoned = false;
  EXPECT_EQ(listing_json(ref, reply)[0]["unschedulable"], false);
  EXPECT_EQ(listing_table(ref, reply, 0, false).find("SchedulingDisabled"), std::string::npos);
}

protocol::GetReply node_running(const std::vector<std::string>& uids) {
  protocol::GetReply reply;
  protocol::NodeStatus node;
  node.name = "a";
  node.replicas = uids;
  reply.nodes = {node};
  return reply;
}

protocol::GetReply job_on(const std::string& node, protocol::ReplicaState state) {
  protocol::ReplicaStatus replica;
  replica.name = "main-0";
  replica.uid = "u1";
  replica.node = node;
  replica.state = state;
  protocol::JobStatus job;
  job.name = "hello";
  job.kind = "Job";
  job.phase = protocol::JobPhase::kRunning;
  job.replicas = {replica};
  protocol::GetReply reply;
  reply.jobs = {job};
  return reply;
}

TEST(DrainNode, CordonsEvictsAndWaitsUntilNothingRunsThere) {
  FakeCoordinator fake;
  fake.cordoned["a"] = false;
  // Each look: the node, then jobs, then trainjobs.
  fake.gets = {node_running({"u1", "stray"}),
               job_on("a", protocol::ReplicaState::kRunning),
               protocol::GetReply{},
               node_running({"stray"}),
               job_on("a", protocol::ReplicaState::kTerminating),
               protocol::GetReply{},
               node_running({}),
               job_on("b", protocol::ReplicaState::kRunning),
               protocol::GetReply{}};
  DrainOptions options;
  options.node = "a";
  options.poll_interval = std::chrono::milliseconds(0);
  std::ostringstream out;
  ASSERT_OK(drain_node(fake, options, out));
  EXPECT_EQ(out.str(),
            "node/a cordoned\nevicting job/hello main-0\nevicting replica stray\nnode/a drained\n");
  ASSERT_EQ(fake.cordons.size(), 1u);
  EXPECT_TRUE(fake.cordons[0].cordon);
  EXPECT_TRUE(fake.cordons[0].drain);
}

TEST(DrainNode, SaysWhatStillRunsWhenTimeRunsOut) {
  FakeCoordinator fake;
  fake.cordoned["a"] = true;
  fake.gets = {node_running({"u1"}), job_on("a", protocol::ReplicaState::kRunning),
               protocol::GetReply{}};
  DrainOptions options;
  options.node = "a";
  options.timeout = std::chrono::milliseconds(0);
  std::ostringstream out;
  const Status status = drain_node(fake, options, out);
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(), "node/a not drained in time; still running: job/hello main-0");
  EXPECT_EQ(out.str(), "node/a already cordoned\nevicting job/hello main-0\n");
}

TEST(SuspendJob, SaysWhatChangedAndWhatAlreadyWas) {
  FakeCoordinator fake;
  fake.suspended["ring"] = false;
  const auto ref = *parse_named_ref({"trainjob/ring"}, kJobResources);
  std::ostringstream out;
  ASSERT_OK(suspend_job(fake, ref, true, out));
  ASSERT_OK(suspend_job(fake, ref, true, out));
  ASSERT_OK(suspend_job(fake, ref, false, out));
  ASSERT_OK(suspend_job(fake, ref, false, out));
  EXPECT_EQ(out.str(),
            "trainjob/ring suspended\ntrainjob/ring already suspended\n"
            "trainjob/ring resumed\ntrainjob/ring is not suspended\n");
  ASSERT_EQ(fake.suspends.size(), 4u);
  EXPECT_EQ(fake.suspends[0].resource, "trainjobs");
  EXPECT_EQ(fake.suspends[0].name, "ring");
}

TEST(SuspendJob, PassesTheCoordinatorsRefusalOn) {
  FakeCoordinator fake;
  std::ostringstream out;
  const auto ref = *parse_named_ref({"trainjob", "gone"}, kJobResources);
  EXPECT_EQ(suspend_job(fake, ref, true, out).message(), "trainjob/gone not found");
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace cadre::client

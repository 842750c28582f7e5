#include "actors/scheduler.h"
#include "tests/actors/scheduler_fixture.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace cadre::actors::scheduler_test {
namespace {

TEST(Scheduler, WaitsWhileNoNodeIsRegistered) {
  Scheduler s;
  EXPECT_EQ(place(s, gang("a", 1, request(1000))), Scheduler::Fit::kWait);
}

TEST(Scheduler, PlacesFirstFitInNodeOrderAndPacks) {
  Scheduler s;
  s.upsert_node(node("n2", 4000, 0, 0, 0, 7));
  s.upsert_node(node("n1", 4000, 0, 0, 0, 3));
  std::vector<Placement> p;
  ASSERT_EQ(place(s, gang("a", 1, request(3000)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "n1");
  EXPECT_EQ(p[0].epoch, 3u);
  EXPECT_EQ(p[0].key, "a/worker-0");
  ASSERT_EQ(place(s, gang("b", 1, request(1000)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "n1");  // packs onto the first node while it fits
  ASSERT_EQ(place(s, gang("c", 1, request(1000)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "n2");
  EXPECT_EQ(s.allocated_on("n1").cpu_millis, 4000);
}

TEST(Scheduler, PlacesAWholeGangOrNothing) {
  Scheduler s;
  s.upsert_node(node("n1", 2000));
  s.upsert_node(node("n2", 2000));
  ASSERT_EQ(place(s, gang("small", 1, request(1000))), Scheduler::Fit::kPlaced);
  // Three 1-CPU replicas fit the 3 free CPUs; four do not, and none may be held.
  EXPECT_EQ(place(s, gang("big", 4, request(1000))), Scheduler::Fit::kWait);
  EXPECT_EQ(s.allocated_on("n1").cpu_millis, 1000);
  EXPECT_EQ(s.allocated_on("n2").cpu_millis, 0);
  std::vector<Placement> p;
  ASSERT_EQ(place(s, gang("fits", 3, request(1000)), &p), Scheduler::Fit::kPlaced);
  ASSERT_EQ(p.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p[i].key, "fits/worker-" + std::to_string(i));
  EXPECT_EQ(s.allocated_on("n1").cpu_millis + s.allocated_on("n2").cpu_millis, 4000);
}

TEST(Scheduler, APinnedGangGoesOnlyToItsNodeAndWaitsForIt) {
  Scheduler s;
  s.upsert_node(node("a", 4000, 1));
  s.upsert_node(node("b", 4000, 1));
  auto pinned = gang("nb-1", 1, request(1000, 0, 1));
  pinned.node = "b";
  std::vector<Placement> out;
  ASSERT_EQ(place(s, pinned, &out), Scheduler::Fit::kPlaced);
  EXPECT_EQ(out[0].node, "b");
  EXPECT_EQ(out[0].gpu_indices, std::vector<int32_t>{0});
  // Its node is full (its one GPU is held): it waits, though node a is free.
  auto second = gang("nb-2", 1, request(1000, 0, 1));
  second.node = "b";
  EXPECT_EQ(place(s, second), Scheduler::Fit::kWait);
  // A node that is not ready, lost, or not (yet) known: it waits too.
  s.release_job("nb-1");
  s.set_schedulable("b", false);
  EXPECT_EQ(place(s, second), Scheduler::Fit::kWait);
  second.node = "gone";
  EXPECT_EQ(place(s, second), Scheduler::Fit::kWait);
  // More than its node could ever hold: never, naming the node.
  auto huge = gang("nb-3", 1, request(8000));
  huge.node = "a";
  std::vector<Placement> none;
  NeverFits why;
  EXPECT_EQ(s.place(huge, &none, &why), Scheduler::Fit::kNever);
  EXPECT_EQ(why.reason, "Unschedulable");
  EXPECT_NE(why.message.find("node a, where it is pinned, can never hold replica worker-0"),
            std::string::npos)
      << why.message;
}

TEST(Scheduler, AWaitingGangIsToldWhatItNeedsAndWhatTheNodesHaveFree) {
  Scheduler s;
  EXPECT_EQ(s.why_waiting(gang("a", 1, request(1000))), "waiting for a node to register");
  s.upsert_node(node("n1", 2000));
  s.upsert_node(node("n2", 4000));
  ASSERT_EQ(place(s, gang("busy", 1, request(1500, 1ll << 30))), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, gang("big", 3, request(1000, 1ll << 30))), Scheduler::Fit::kPlaced);

  // n1 and n2 have 500m and 1 cpu free; two 1-cpu replicas cannot both start.
  const auto two = gang("two", 2, request(1000, 512ll << 20));
  ASSERT_EQ(place(s, two), Scheduler::Fit::kWait);
  EXPECT_EQ(s.why_waiting(two),
            "waiting for capacity: its 2 replicas start together and need cpu=2 memory=1Gi gpu=0 "
            "in all, each cpu=1 memory=512Mi gpu=0 on one node; free now: n2 cpu=1 memory=13Gi "
            "gpu=0, n1 cpu=500m memory=15Gi gpu=0");

  const auto one = gang("one", 1, request(3000));
  ASSERT_EQ(place(s, one), Scheduler::Fit::kWait);
  s.set_schedulable("n1", false);
  EXPECT_EQ(s.why_waiting(one),
            "waiting for capacity: replica worker-0 needs cpu=3 memory=0 gpu=0; "
            "free now: n2 cpu=1 memory=13Gi gpu=0; not Ready: n1");
  s.set_schedulable("n2", false);
  EXPECT_EQ(s.why_waiting(one),
            "waiting for capacity: replica worker-0 needs cpu=3 memory=0 gpu=0; "
            "free now: nothing (no node is Ready); not Ready: n1 and 1 more");
}

TEST(Scheduler, AWaitingGangListsAFewNodesWithTheMostFreeCpuAndCountsTheRest) {
  Scheduler s;
  for (int i = 0; i < 6; ++i) s.upsert_node(node("n" + std::to_string(i), 1000 * (i + 1)));
  const auto huge = gang("huge", 2, request(6000));
  ASSERT_EQ(place(s, huge), Scheduler::Fit::kWait);
  const std::string why = s.why_waiting(huge);
  EXPECT_NE(why.find("free now: n5 cpu=6 memory=16Gi gpu=0, n4 cpu=5"), std::string::npos) << why;
  EXPECT_NE(why.find("n2 cpu=3 memory=16Gi gpu=0 and 2 more nodes with less cpu"),
            std::string::npos)
      << why;
}

TEST(Scheduler, AWaitingGangOfUnequalReplicasSaysTheMostAnyOneNeedsOnItsNode) {
  Scheduler s;
  s.upsert_node(node("n1", 1500));
  s.upsert_node(node("n2", 1500));
  // 3 cpu free in all, but no node holds two of these replicas.
  auto ps = gang("ps", 2, request(1000, 1ll << 30));
  ps.members.push_back({"ps/ps-0", request(1000, 2ll << 30)});
  ASSERT_EQ(place(s, ps), Scheduler::Fit::kWait);
  const std::string why = s.why_waiting(ps);
  EXPECT_NE(why.find("its 3 replicas start together and need cpu=3 memory=4Gi gpu=0 in all, "
                     "up to cpu=1 memory=2Gi gpu=0 on one node; free now: "),
            std::string::npos)
      << why;
}

TEST(Scheduler, AWaitingPinnedGangTalksOnlyOfItsNode) {
  Scheduler s;
  s.upsert_node(node("n1", 2000, 0, 9000, 9000));
  auto pinned = gang("nb", 1, request(1000));
  pinned.node = "n1";
  ASSERT_EQ(place(s, gang("first", 1, request(500))), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, pinned), Scheduler::Fit::kWait);  // its one port is taken
  EXPECT_EQ(s.why_waiting(pinned),
            "waiting for capacity on node n1, where it is pinned: replica worker-0 needs cpu=1 "
            "memory=0 gpu=0; free there: n1 cpu=1.5 memory=16Gi gpu=0 (no free port)");
  s.set_schedulable("n1", false);
  EXPECT_EQ(s.why_waiting(pinned), "waiting for node n1, where it is pinned, to be Ready again");
  s.set_lost("n1");
  EXPECT_EQ(s.why_waiting(pinned), "waiting for node n1, where it is pinned, to register again");
}

TEST(Scheduler, ACordonedNodeGetsNothingNewButKeepsWhatItHoldsAndStillCounts) {
  Scheduler s;
  s.upsert_node(node("n1", 4000));
  s.upsert_node(node("n2", 2000));
  std::vector<Placement> p;
  ASSERT_EQ(place(s, gang("before", 1, request(1000)), &p), Scheduler::Fit::kPlaced);
  ASSERT_EQ(p[0].node, "n1");
  s.set_cordoned("n1", true);
  EXPECT_EQ(s.allocated_on("n1").cpu_millis, 1000);  // what runs there stays

  ASSERT_EQ(place(s, gang("after", 1, request(1000)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "n2");  // n1 would have packed it

  // Only n1 could hold 3 cpu: the gang waits for the cordon to lift, not fails.
  const auto big = gang("big", 1, request(3000));
  NeverFits never;
  EXPECT_EQ(s.place(big, &p, &never), Scheduler::Fit::kWait);
  EXPECT_EQ(s.why_waiting(big),
            "waiting for capacity: replica worker-0 needs cpu=3 memory=0 gpu=0; "
            "free now: n2 cpu=1 memory=16Gi gpu=0; cordoned: n1");
  s.set_cordoned("n2", true);
  EXPECT_EQ(s.why_waiting(big),
            "waiting for capacity: replica worker-0 needs cpu=3 memory=0 gpu=0; "
            "free now: nothing (no node is Ready and uncordoned); cordoned: n1 and 1 more");

  s.upsert_node(node("n1", 4000, 0, 0, 0, 2));  // its agent registers again: still cordoned
  EXPECT_EQ(s.place(big, &p, &never), Scheduler::Fit::kWait);
  s.set_cordoned("n1", false);
  ASSERT_EQ(s.place(big, &p, &never), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "n1");
}

TEST(Scheduler, AGangPinnedToACordonedNodeWaitsForTheUncordon) {
  Scheduler s;
  s.upsert_node(node("n1", 2000));
  s.set_cordoned("n1", true);
  auto pinned = gang("nb", 1, request(1000));
  pinned.node = "n1";
  ASSERT_EQ(place(s, pinned), Scheduler::Fit::kWait);
  EXPECT_EQ(s.why_waiting(pinned), "waiting for node n1, where it is pinned, to be uncordoned");
  s.set_cordoned("n1", false);
  EXPECT_EQ(place(s, pinned), Scheduler::Fit::kPlaced);
}

NodeCapacity labelled(const std::string& name, int64_t cpu,
                      std::map<std::string, std::string> labels) {
  NodeCapacity n = node(name, cpu);
  n.labels = std::move(labels);
  return n;
}

GangRequest selecting(const std::string& job, int replicas, spec::ResourceRequest each,
                      std::map<std::string, std::string> selector) {
  GangRequest g = gang(job, replicas, each);
  for (auto& member : g.members) member.node_selector = selector;
  return g;
}

TEST(Scheduler, AReplicaThatSelectsLabelsGoesOnlyToANodeThatHasThemAll) {
  Scheduler s;
  s.upsert_node(labelled("a", 8000, {{"gpu", "a100"}}));
  s.upsert_node(labelled("b", 8000, {{"gpu", "h200"}, {"zone", "eu"}}));
  s.upsert_node(labelled("c", 8000, {{"gpu", "h200"}}));
  std::vector<Placement> p;
  ASSERT_EQ(place(s, selecting("g", 2, request(1000), {{"gpu", "h200"}}), &p),
            Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "b");  // packs on the first node that has the label
  EXPECT_EQ(p[1].node, "b");
  ASSERT_EQ(place(s, selecting("z", 1, request(1000), {{"gpu", "h200"}, {"zone", "eu"}}), &p),
            Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "b");
  ASSERT_EQ(place(s, gang("any", 1, request(1000)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "a");  // no selector: any node

  // The labelled nodes full: it waits, saying which nodes it wants.
  const auto big = selecting("big", 1, request(7500), {{"gpu", "h200"}, {"zone", "eu"}});
  ASSERT_EQ(place(s, big), Scheduler::Fit::kWait);
  EXPECT_EQ(s.why_waiting(big).rfind("waiting for capacity: replica worker-0 needs cpu=7.5 "
                                     "memory=0 gpu=0 on a node labelled gpu=h200,zone=eu; ",
                                     0),
            0u)
      << s.why_waiting(big);
}

TEST(Scheduler, AReplicaSelectingLabelsNoNodeHasCanNeverBePlaced) {
  Scheduler s;
  s.upsert_node(labelled("a", 8000, {{"gpu", "a100"}}));
  s.upsert_node(labelled("b", 2000, {{"gpu", "h200"}}));
  std::vector<Placement> p;
  NeverFits never;
  ASSERT_EQ(s.place(selecting("g", 1, request(1000), {{"gpu", "b200"}}), &p, &never),
            Scheduler::Fit::kNever);
  EXPECT_EQ(never.reason, "Unschedulable");
  EXPECT_EQ(never.message,
            "no node has the labels gpu=b200 that replica worker-0 selects (nodeSelector; an "
            "agent's labels: cadre-agent --label)");
  // Labelled, but too small: no labelled node can ever hold it, though another could.
  ASSERT_EQ(s.place(selecting("h", 1, request(4000), {{"gpu", "h200"}}), &p, &never),
            Scheduler::Fit::kNever);
  EXPECT_EQ(never.message,
            "no node labelled gpu=h200 can ever hold replica worker-0 (cpu=4 memory=0 gpu=0)");
  // Pinned to a node without the labels.
  auto pinned = selecting("nb", 1, request(1000), {{"gpu", "h200"}});
  pinned.node = "a";
  ASSERT_EQ(s.place(pinned, &p, &never), Scheduler::Fit::kNever);
  EXPECT_EQ(never.message,
            "node a, where it is pinned, lacks the labels gpu=h200 that replica worker-0 selects");
}

TEST(Scheduler, PackKeepsAGangOnTheNodesItAlreadyUses) {
  Scheduler s;
  s.upsert_node(node("a", 8000));
  s.upsert_node(node("b", 8000));
  std::vector<Placement> p;
  ASSERT_EQ(place(s, gang("g", 4, request(2000)), &p), Scheduler::Fit::kPlaced);
  for (const auto& placement : p) EXPECT_EQ(placement.node, "a");
}

TEST(Scheduler, SpreadPutsOneReplicaPerNodeBeforeDoublingUp) {
  Scheduler s;
  for (const char* n : {"a", "b", "c"}) s.upsert_node(node(n, 8000));
  std::vector<Placement> p;
  ASSERT_EQ(place(s, gang("g", 4, request(1000), spec::PlacementPolicy::kSpread), &p),
            Scheduler::Fit::kPlaced);
  std::map<std::string, int> per_node;
  for (const auto& placement : p) per_node[placement.node]++;
  EXPECT_EQ(per_node.size(), 3u);
  for (const auto& [name, count] : per_node) EXPECT_LE(count, 2) << name;
}

TEST(Scheduler, JobsOfOneSpreadGroupGoToTheNodeHoldingFewestOfThem) {
  Scheduler s;
  for (const char* n : {"a", "b", "c"}) s.upsert_node(node(n, 8000));
  std::map<std::string, int> per_node;
  for (int i = 0; i < 6; ++i) {  // six one-replica jobs, as a service's replicas are
    auto g = gang("fmnist-00001-" + std::to_string(i), 1, request(500));
    g.spread_group = "inferenceservice/fmnist";
    std::vector<Placement> p;
    ASSERT_EQ(place(s, g, &p), Scheduler::Fit::kPlaced);
    per_node[p[0].node]++;
  }
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"a", 2}, {"b", 2}, {"c", 2}}));
  // Another group does not count; without a group, jobs still pack.
  auto other = gang("other-1", 1, request(500));
  other.spread_group = "inferenceservice/other";
  std::vector<Placement> p;
  ASSERT_EQ(place(s, other, &p), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, gang("plain", 1, request(500)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "a");
  // A soft preference: a full node is skipped, the group never waits for it.
  Scheduler small;
  small.upsert_node(node("a", 8000));
  small.upsert_node(node("b", 400));
  for (int i = 0; i < 2; ++i) {
    auto g = gang("s-" + std::to_string(i), 1, request(500));
    g.spread_group = "inferenceservice/s";
    ASSERT_EQ(place(small, g, &p), Scheduler::Fit::kPlaced);
    EXPECT_EQ(p[0].node, "a");
  }
}

TEST(Scheduler, PlacesLargestMembersFirstSoMixedGangsPackTightly) {
  Scheduler s;
  s.upsert_node(node("a", 3000));
  s.upsert_node(node("b", 2000));
  GangRequest g = gang("g", 0, request(0));
  g.members.push_back({"g/worker-0", request(1000)});
  g.members.push_back({"g/worker-1", request(1000)});
  g.members.push_back({"g/ps-0", request(3000)});
  // In member order first fit would put both workers on a and strand the 3-CPU PS.
  std::vector<Placement> p;
  ASSERT_EQ(place(s, g, &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[2].node, "a");
  EXPECT_EQ(p[0].node, "b");
  EXPECT_EQ(p[1].node, "b");
}

TEST(Scheduler, HandsOutDistinctGpuIndicesAndTakesThemBack) {
  Scheduler s;
  s.upsert_node(node("gpu", 64000, 4));
  std::vector<Placement> a, b, c;
  ASSERT_EQ(place(s, gang("a", 1, request(0, 0, 2)), &a), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, gang("b", 1, request(0, 0, 2)), &b), Scheduler::Fit::kPlaced);
  EXPECT_EQ(a[0].gpu_indices, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(b[0].gpu_indices, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(place(s, gang("c", 1, request(0, 0, 1)), &c), Scheduler::Fit::kWait);
  s.release_job("a");
  ASSERT_EQ(place(s, gang("c", 1, request(0, 0, 1)), &c), Scheduler::Fit::kPlaced);
  EXPECT_EQ(c[0].gpu_indices, (std::vector<int32_t>{0}));
}

TEST(Scheduler, AssignsDistinctPortsFromTheNodeRangeAndRotatesThem) {
  Scheduler s;
  s.upsert_node(node("n", 64000, 0, 31000, 31003));
  std::vector<Placement> p;
  ASSERT_EQ(place(s, gang("a", 3, request(100)), &p), Scheduler::Fit::kPlaced);
  std::set<int32_t> ports;
  for (const auto& placement : p) {
    EXPECT_GE(placement.port, 31000);
    EXPECT_LE(placement.port, 31003);
    EXPECT_EQ(placement.address, "10.0.0.1");
    ports.insert(placement.port);
  }
  EXPECT_EQ(ports.size(), 3u);
  s.release_job("a");
  // The next gang does not get the ports just released first (they may be in TIME_WAIT).
  ASSERT_EQ(place(s, gang("c", 1, request(100)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].port, 31003);
}

TEST(Scheduler, AGangWaitsForPortsEvenWithCpuFree) {
  Scheduler s;
  s.upsert_node(node("n", 64000, 0, 31000, 31002));
  ASSERT_EQ(place(s, gang("a", 2, request(100))), Scheduler::Fit::kPlaced);
  EXPECT_EQ(place(s, gang("b", 2, request(100))), Scheduler::Fit::kWait);
  EXPECT_EQ(place(s, gang("c", 1, request(100))), Scheduler::Fit::kPlaced);
}

TEST(Scheduler, NodesWithoutAPortRangeGivePortZero) {
  Scheduler s;
  s.upsert_node(node("n", 4000));
  std::vector<Placement> p;
  ASSERT_EQ(place(s, gang("a", 2, request(100)), &p), Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].port, 0);
  EXPECT_EQ(p[1].port, 0);
}

TEST(Scheduler, ReplicaLargerThanEveryNodeNeverFitsAndSaysWhich) {
  Scheduler s;
  s.upsert_node(node("small", 2000));
  std::vector<Placement> p;
  NeverFits why;
  GangRequest g = gang("a", 1, request(1000));
  g.members.push_back({"a/ps-0", request(4000)});
  EXPECT_EQ(s.place(g, &p, &why), Scheduler::Fit::kNever);
  EXPECT_NE(why.message.find("replica ps-0"), std::string::npos) << why.message;
  EXPECT_NE(why.message.find("cpu=4"), std::string::npos) << why.message;
  EXPECT_NE(why.message.find("largest of 1 nodes: cpu=2"), std::string::npos) << why.message;
  EXPECT_EQ(s.allocated_on("small").cpu_millis, 0);
}

TEST(Scheduler, GangLargerThanTheWholeClusterNeverFits) {
  Scheduler s;
  s.upsert_node(node("a", 2000));
  s.upsert_node(node("b", 2000));
  NeverFits why;
  std::vector<Placement> p;
  EXPECT_EQ(s.place(gang("g", 5, request(1000)), &p, &why), Scheduler::Fit::kNever);
  EXPECT_NE(why.message.find("gang of 5 replicas"), std::string::npos) << why.message;
  // Four fit an empty cluster: while others hold capacity, it waits instead.
  ASSERT_EQ(place(s, gang("x", 1, request(1000))), Scheduler::Fit::kPlaced);
  EXPECT_EQ(s.place(gang("g", 4, request(1000)), &p, &why), Scheduler::Fit::kWait);
}

TEST(Scheduler, UnschedulableNodesGetNothingButStillCountForNever) {
  Scheduler s;
  s.upsert_node(node("n", 2000));
  s.set_schedulable("n", false);
  EXPECT_EQ(place(s, gang("a", 1, request(1000))), Scheduler::Fit::kWait);
  s.set_schedulable("n", true);
  EXPECT_EQ(place(s, gang("a", 1, request(1000))), Scheduler::Fit::kPlaced);
}

TEST(Scheduler, LostNodesDoNotCountTowardWhatCouldEverFit) {
  Scheduler s;
  s.upsert_node(node("big", 8000));
  s.upsert_node(node("small", 2000));
  s.set_lost("big");
  NeverFits why;
  std::vector<Placement> p;
  EXPECT_EQ(s.place(gang("g", 1, request(4000)), &p, &why), Scheduler::Fit::kNever);
  EXPECT_NE(why.message.find("largest of 1 nodes: cpu=2"), std::string::npos) << why.message;
  // Registering again makes it count (and hold work) again.
  s.upsert_node(node("big", 8000, 0, 0, 0, 2));
  EXPECT_EQ(place(s, gang("g", 1, request(4000))), Scheduler::Fit::kPlaced);
}

NodeCapacity accepting(NodeCapacity n, int64_t max_message_bytes) {
  n.max_message_bytes = max_message_bytes;
  return n;
}

GangRequest launching(GangRequest g, int64_t launch_bytes) {
  for (auto& member : g.members) member.launch_bytes = launch_bytes;
  return g;
}

TEST(Scheduler, AReplicaGoesOnlyToANodeWhoseAgentAcceptsItsLaunch) {
  Scheduler s;
  s.upsert_node(accepting(node("a", 4000), 65536));
  s.upsert_node(accepting(node("b", 4000), 1 << 20));
  s.upsert_node(node("c", 4000));  // an agent that does not say: accepts anything
  std::vector<Placement> p;
  ASSERT_EQ(place(s, launching(gang("big", 2, request(1000)), 100000), &p),
            Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "b") << "a is first in order but refuses 100000 bytes";
  EXPECT_EQ(p[1].node, "b");
  ASSERT_EQ(place(s, launching(gang("small", 1, request(1000)), 1000), &p),
            Scheduler::Fit::kPlaced);
  EXPECT_EQ(p[0].node, "a");
  // Spread and pinned gangs skip such a node too.
  auto spread = launching(gang("spread", 2, request(100), spec::PlacementPolicy::kSpread), 100000);
  ASSERT_EQ(place(s, spread, &p), Scheduler::Fit::kPlaced);
  EXPECT_NE(p[0].node, "a");
  EXPECT_NE(p[1].node, "a");
  auto pinned = launching(gang("pinned", 1, request(100)), 100000);
  pinned.node = "a";
  NeverFits why;
  EXPECT_EQ(s.place(pinned, &p, &why), Scheduler::Fit::kNever);
  EXPECT_EQ(why.reason, "LaunchTooLarge");
  EXPECT_EQ(why.message,
            "replica worker-0's launch is at least 100000 bytes; node a, where it is pinned, "
            "accepts at most 65536 (its agent's --max-message-bytes): make the command, args "
            "and env smaller or raise that limit");
}

TEST(Scheduler, ALaunchNoNodeThatCouldHoldItAcceptsNeverFitsAsLaunchTooLarge) {
  Scheduler s;
  s.upsert_node(accepting(node("small", 1000), 1 << 20));  // accepts it, cannot hold it
  s.upsert_node(accepting(node("a", 4000), 65536));
  s.upsert_node(accepting(node("b", 4000), 131072));
  NeverFits why;
  std::vector<Placement> p;
  EXPECT_EQ(s.place(launching(gang("g", 1, request(2000)), 200000), &p, &why),
            Scheduler::Fit::kNever);
  EXPECT_EQ(why.reason, "LaunchTooLarge");
  EXPECT_NE(why.message.find("replica worker-0's launch is at least 200000 bytes; no node that "
                             "could hold it accepts at most 131072"),
            std::string::npos)
      << why.message;
  EXPECT_EQ(s.allocated_on("a").cpu_millis + s.allocated_on("b").cpu_millis, 0);
  // Resources come first: a replica no node can hold is Unschedulable, whatever its size.
  EXPECT_EQ(s.place(launching(gang("g", 1, request(8000)), 200000), &p, &why),
            Scheduler::Fit::kNever);
  EXPECT_EQ(why.reason, "Unschedulable");
  // While nodes that accept it are busy it waits, as for any capacity.
  ASSERT_EQ(place(s, gang("x", 1, request(4000))), Scheduler::Fit::kPlaced);  // takes a
  s.upsert_node(accepting(node("b", 4000, 0, 0, 0, 2), 1 << 20));
  ASSERT_EQ(place(s, gang("y", 1, request(4000))), Scheduler::Fit::kPlaced);  // takes b
  const auto waiting = launching(gang("g", 1, request(2000)), 200000);
  EXPECT_EQ(place(s, waiting), Scheduler::Fit::kWait);
  // Free CPU on a node whose agent refuses the launch is not capacity for it: said so.
  s.release_job("x");
  s.upsert_node(accepting(node("a", 4000, 0, 0, 0, 2), 65536));
  s.reserve("y/worker-0", "b", request(4000), {}, 0);
  const std::string waits = s.why_waiting(waiting);
  EXPECT_NE(waits.find("a cpu=4 memory=16Gi gpu=0 (its agent accepts launches up to 65536 bytes; "
                       "this gang's are up to 200000)"),
            std::string::npos)
      << waits;
  EXPECT_NE(waits.find("b cpu=0 memory=16Gi gpu=0"), std::string::npos) << waits;
}

TEST(Scheduler, WhenEveryNodeIsLostNothingIsKnownToBeImpossible) {
  Scheduler s;
  s.upsert_node(node("a", 2000));
  s.set_lost("a");
  EXPECT_EQ(place(s, gang("g", 1, request(4000))), Scheduler::Fit::kWait);
}

TEST(Scheduler, APlacementRestoredBeforeItsNodeRegistersMakesNothingUnschedulable) {
  // After a coordinator restart jobs re-reserve their slots before the nodes
  // register again: such a node is known, but holds nothing yet.
  Scheduler s;
  s.reserve("old/main-0", "a", request(100), {}, 0);
  EXPECT_EQ(place(s, gang("g", 1, request(100))), Scheduler::Fit::kWait)
      << "a node not registered yet is not a node that can never hold anything";
  s.upsert_node(node("a", 2000));
  EXPECT_EQ(place(s, gang("g", 1, request(100))), Scheduler::Fit::kPlaced);
  EXPECT_EQ(s.allocated_on("a").cpu_millis, 200) << "the restored hold still counts";
}

TEST(Scheduler, RemovedNodeIsForgottenWithWhatItHeld) {
  Scheduler s;
  s.upsert_node(node("a", 2000));
  s.upsert_node(node("b", 2000));
  s.reserve("old/main-0", "a", request(2000), {}, 0);
  s.remove_node("a");
  EXPECT_EQ(s.node_count(), 1u);
  EXPECT_EQ(s.allocated_on("a").cpu_millis, 0);
  // Removing the held slot's node removed the hold: its release is harmless.
  s.release("old/main-0");
  EXPECT_EQ(place(s, gang("g", 1, request(2000))), Scheduler::Fit::kPlaced);
}

TEST(Scheduler, ReleaseIsIdempotentAndReserveReplacesAnEarlierHold) {
  Scheduler s;
  s.upsert_node(node("n", 2000, 0, 31000, 31010));
  s.reserve("a/main-0", "n", request(1500), {}, 31005);
  s.reserve("a/main-0", "n", request(1500), {}, 31005);
  EXPECT_EQ(s.allocated_on("n").cpu_millis, 1500);
  s.release("a/main-0");
  s.release("a/main-0");
  EXPECT_EQ(s.allocated_on("n").cpu_millis, 0);
}

TEST(Scheduler, ReleaseJobFreesEverySlotOfThatJobOnly) {
  Scheduler s;
  s.upsert_node(node("n", 8000));
  ASSERT_EQ(place(s, gang("ab", 2, request(1000))), Scheduler::Fit::kPlaced);
  ASSERT_EQ(place(s, gang("a", 3, request(1000))), Scheduler::Fit::kPlaced);
  s.release_job("a");
  EXPECT_EQ(s.allocated_on("n").cpu_millis, 2000);  // "ab/..." is not "a/..."
}

}  // namespace
}  // namespace cadre::actors::scheduler_test

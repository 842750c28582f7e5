#include "ingress/route_table.h"

#include <gtest/gtest.h>

#include <map>

#include "protocol/user_tokens.h"

namespace cadre::ingress {
namespace {

protocol::RoutesReply canary_routes() {
  protocol::ServiceRoute s;
  s.name = "fmnist";
  s.ns = "team-a";
  s.replica_token = "replica-secret";
  s.timeout_ms = 5000;
  protocol::RevisionRoute stable{"fmnist-00001", 80, {}, false};
  stable.endpoints = {{"fmnist-00001-1", "127.0.0.1", 9001}, {"fmnist-00001-2", "127.0.0.1", 9002}};
  protocol::RevisionRoute canary{
      "fmnist-00002", 20, {{"fmnist-00002-1", "127.0.0.1", 9003}}, false};
  s.revisions = {stable, canary};
  protocol::RoutesReply reply;
  reply.version = 7;
  reply.changed = true;
  reply.services = {s};
  reply.tokens = {{protocol::token_sha256("cadre_team_a"), "team-a"},
                  {protocol::token_sha256("cadre_team_b"), "team-b"}};
  return reply;
}

TEST(RouteTable, SplitsRequestsByRevisionWeight) {
  RouteTable table;
  table.update(canary_routes());
  std::map<std::string, int> by_revision;
  for (int i = 0; i < 1000; ++i) {
    auto pick = table.pick("fmnist", (i + 0.5) / 1000.0, 0.5);
    ASSERT_TRUE(pick.ok()) << pick.status().message();
    by_revision[pick->revision]++;
  }
  EXPECT_EQ(by_revision["fmnist-00001"], 800);
  EXPECT_EQ(by_revision["fmnist-00002"], 200);
}

TEST(RouteTable, PicksTheReplicaWithTheFewestRequestsInFlight) {
  RouteTable table;
  table.update(canary_routes());
  auto busy = table.pick("fmnist", 0.1, 0.0);
  ASSERT_TRUE(busy.ok());
  busy->load->in_flight = 3;
  for (double u2 : {0.0, 0.5, 0.99}) {
    auto next = table.pick("fmnist", 0.1, u2);
    ASSERT_TRUE(next.ok());
    EXPECT_NE(next->port, busy->port);
    next->load->in_flight.fetch_sub(1);  // the request ends: its slot is free again
  }
  // The count outlives a table update that keeps the replica.
  table.update(canary_routes());
  auto again = table.pick("fmnist", 0.1, 0.0);
  EXPECT_NE(again->port, busy->port);
}

TEST(RouteTable, EqualReplicasShareByTheTieBreakAndAReplicaThatFreedUpIsStillChosen) {
  auto routes = canary_routes();
  routes.services[0].revisions[0].endpoints.push_back({"fmnist-00001-3", "127.0.0.1", 9004});
  RouteTable table;
  table.update(routes);
  std::map<double, int> port_of;
  for (double u2 : {0.0, 0.34, 0.67, 0.99}) {
    auto pick = table.pick("fmnist", 0.1, u2);
    ASSERT_TRUE(pick.ok());
    port_of[u2] = pick->port;
    pick->load->in_flight.fetch_sub(1);
  }
  EXPECT_EQ(port_of[0.0], 9001);
  EXPECT_EQ(port_of[0.34], 9002);
  EXPECT_EQ(port_of[0.67], 9004);
  EXPECT_EQ(port_of[0.99], 9004);
  // Two replicas busy, one free: the free one, whatever the tie-break.
  auto a = table.pick("fmnist", 0.1, 0.0), b = table.pick("fmnist", 0.1, 0.0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->port, b->port);
  auto c = table.pick("fmnist", 0.1, 0.99);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->port, a->port);
  EXPECT_NE(c->port, b->port);
}

TEST(RouteTable, AServiceNamedTwiceInOneReplyIsRoutedByTheLastEntry) {
  auto routes = canary_routes();
  auto second = routes.services[0];
  second.revisions = {{"fmnist-00003", 100, {{"fmnist-00003-1", "127.0.0.1", 9005}}, false}};
  routes.services.push_back(second);
  RouteTable table;
  table.update(routes);
  for (double u1 : {0.0, 0.5, 0.99}) {
    auto pick = table.pick("fmnist", u1, 0.5);
    ASSERT_TRUE(pick.ok());
    EXPECT_EQ(pick->revision, "fmnist-00003");
    EXPECT_EQ(pick->replica, "fmnist-00003-1");
    EXPECT_EQ(pick->port, 9005);
  }
}

TEST(RouteTable, SkipsReplicasARequestCouldNotReachAndThenTheRevision) {
  RouteTable table;
  table.update(canary_routes());
  auto pick = table.pick("fmnist", 0.9, 0.0, {"127.0.0.1:9003"});
  ASSERT_TRUE(pick.ok());
  EXPECT_EQ(pick->revision, "fmnist-00001");  // the canary's only replica is out
  auto none =
      table.pick("fmnist", 0.5, 0.0, {"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"});
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(table.pick("other", 0.5, 0.5).status().code(), StatusCode::kNotFound);
}

TEST(RouteTable, AcceptsOnlyATokenOfTheServicesNamespace) {
  RouteTable table;
  table.update(canary_routes());
  EXPECT_EQ(table.authorize("fmnist", ""), RouteTable::Auth::kMissing);
  EXPECT_EQ(table.authorize("fmnist", "Basic abc"), RouteTable::Auth::kMissing);
  EXPECT_EQ(table.authorize("fmnist", "Bearer cadre_wrong"), RouteTable::Auth::kWrong);
  EXPECT_EQ(table.authorize("fmnist", "Bearer cadre_team_b"), RouteTable::Auth::kOtherNamespace);
  EXPECT_EQ(table.authorize("fmnist", "Bearer cadre_team_a"), RouteTable::Auth::kOk);
  auto open = canary_routes();
  open.services[0].auth = false;
  table.update(open);
  EXPECT_EQ(table.authorize("fmnist", ""), RouteTable::Auth::kOk);
}

TEST(RouteTable, HandsOutTheReplicasTokenAndTimeout) {
  RouteTable table;
  EXPECT_FALSE(table.has_table());
  table.update(canary_routes());
  EXPECT_TRUE(table.has_table());
  auto pick = table.pick("fmnist", 0.95, 0.0);
  ASSERT_TRUE(pick.ok());
  EXPECT_EQ(pick->token, "replica-secret");
  EXPECT_EQ(pick->timeout.count(), 5000);
  EXPECT_EQ(pick->replica, "fmnist-00002-1");
}

TEST(RouteTable, ARevisionAtZeroStaysInTheDrawAndItsPickWaits) {
  RouteTable table;
  auto reply = canary_routes();
  reply.services[0].revisions[1].endpoints.clear();
  reply.services[0].revisions[1].activate = true;  // the canary scaled to zero
  table.update(reply);
  auto pick = table.pick("fmnist", 0.95, 0.0);
  ASSERT_TRUE(pick.ok());
  EXPECT_EQ(pick->wait, PickWait::kColdStart);
  EXPECT_EQ(pick->revision, "fmnist-00002");
  EXPECT_EQ(pick->load, nullptr) << "a waiting pick takes no slot";
  EXPECT_EQ(table.scale_to_zero_revisions(),
            (std::vector<std::pair<std::string, std::string>>{{"fmnist", "fmnist-00002"}}));
  EXPECT_EQ(table.pick("fmnist", 0.1, 0.0)->wait, PickWait::kNone);
}

TEST(RouteTable, APickTakesASlotAndContainerConcurrencyBoundsThem) {
  RouteTable table;
  auto reply = canary_routes();
  reply.services[0].container_concurrency = 2;
  table.update(reply);
  // The canary's one replica: two slots, then every pick of it waits.
  auto a = table.pick("fmnist", 0.95, 0.0);
  auto b = table.pick("fmnist", 0.95, 0.0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->wait, PickWait::kNone);
  EXPECT_EQ(b->wait, PickWait::kNone);
  EXPECT_EQ(a->load->in_flight.load(), 2);
  EXPECT_EQ(table.pick("fmnist", 0.95, 0.0)->wait, PickWait::kAtCapacity);
  a->load->in_flight.fetch_sub(1);  // one request ends
  EXPECT_EQ(table.pick("fmnist", 0.95, 0.0)->wait, PickWait::kNone);
}

}  // namespace
}  // namespace cadre::ingress

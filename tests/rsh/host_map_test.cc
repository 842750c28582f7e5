// Parsing CADRE_MPI_HOSTS and CADRE_PEERS, including what a broken coordinator or
// a hand-written environment could put there.
#include "agent/rsh/host_map.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

namespace cadre::agent::rsh {
namespace {

TEST(HostMap, ParsesNamesToEndpointsIncludingBracketedIpv6) {
  auto hosts = parse_host_map("job-worker-0=10.0.0.2:30001,job-worker-1=[fd00::3]:30002");
  ASSERT_OK(hosts);
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ(hosts->at("job-worker-0").host, "10.0.0.2");
  EXPECT_EQ(hosts->at("job-worker-0").port, 30001);
  EXPECT_EQ(hosts->at("job-worker-1").host, "fd00::3");
  EXPECT_EQ(hosts->at("job-worker-1").to_string(), "[fd00::3]:30002");
}

TEST(HostMap, RejectsEveryMalformedEntryNamingIt) {
  const char* bad[] = {"",
                       ",",
                       "a=h:1,",
                       ",a=h:1",
                       "a",
                       "=h:1",
                       "a=h:1,a=h:2",
                       "a=h",
                       "a=:1",
                       "a=h:",
                       "a=h:0",
                       "a=h:65536",
                       "a=h:8x",
                       "a=h:-1",
                       "a=::1:80",
                       "a=[::1]80",
                       "a=[::1",
                       "a=h:99999999999999999999"};
  for (const char* text : bad) {
    auto hosts = parse_host_map(text);
    EXPECT_FALSE(hosts.ok()) << "'" << text << "' was accepted";
    if (!hosts.ok()) {
      EXPECT_NE(hosts.status().message().find("CADRE_MPI_HOSTS"), std::string::npos) << text;
    }
  }
}

TEST(HostMap, RepeatedNamesAreAnErrorNotALastOneWins) {
  auto hosts = parse_host_map("w=a:1,w=b:2");
  ASSERT_FALSE(hosts.ok());
  EXPECT_NE(hosts.status().message().find("'w' appears twice"), std::string::npos);
}

TEST(Endpoint, KeepsHostNamesAndRejectsPortsOutsideTheRange) {
  auto endpoint = parse_endpoint("node-a.example:1");
  ASSERT_OK(endpoint);
  EXPECT_EQ(endpoint->host, "node-a.example");
  EXPECT_EQ(endpoint->port, 1);
  EXPECT_OK(parse_endpoint("h:65535"));
  EXPECT_FALSE(parse_endpoint("h:65536").ok());
  EXPECT_FALSE(parse_endpoint("h: 80").ok());
}

TEST(OwnPort, IsThePortOfTheRankthPeer) {
  EXPECT_EQ(own_endpoint_from_peers("a:1001,b:1002,c:1003", 0)->port, 1001);
  EXPECT_EQ(own_endpoint_from_peers("a:1001,b:1002,c:1003", 0)->host, "a");
  EXPECT_EQ(own_endpoint_from_peers("a:1001,b:1002,c:1003", 2)->port, 1003);
}

TEST(OwnPort, RejectsRanksOutsideTheListAndBrokenEntries) {
  EXPECT_FALSE(own_endpoint_from_peers("a:1001,b:1002", 2).ok());
  EXPECT_FALSE(own_endpoint_from_peers("a:1001,b:1002", -1).ok());
  EXPECT_FALSE(own_endpoint_from_peers("", 0).ok());
  EXPECT_FALSE(own_endpoint_from_peers("a:1001,,c:1003", 1).ok());
  auto broken = own_endpoint_from_peers("a:1001,b", 1);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("CADRE_PEERS[1]"), std::string::npos);
}

}  // namespace
}  // namespace cadre::agent::rsh

#include "ingress/api_calls.h"

#include <gtest/gtest.h>

namespace cadre::ingress {
namespace api_calls_test {

// The call a method and target name, as the handler would make it.
ApiCall call_for(std::string_view method, std::string_view target, std::string body = "") {
  auto query = parse_api_call(method, target);
  EXPECT_TRUE(query.ok()) << target << ": " << query.status().message();
  return api_call(*query, std::move(body));
}

TEST(ApiCalls, AListOfJobsAsksForOneMoreThanItsPageWithItsFilters) {
  const auto call = call_for("GET", "/api/v1/jobs?limit=20&continue=b&prefix=tr&phase=Running");
  EXPECT_EQ(call.request.verb, "get");
  EXPECT_EQ(call.request.get.resource, "jobs");
  EXPECT_EQ(call.request.get.limit, 21);  // the one more says whether a page follows
  EXPECT_EQ(call.request.get.after, "b");
  EXPECT_EQ(call.request.get.prefix, "tr");
  EXPECT_EQ(call.request.get.phase, "Running");
  EXPECT_FALSE(call.request.get.by_owner);
  EXPECT_TRUE(call.ask);
}

TEST(ApiCalls, OtherKindsAndSingleObjectsAreNotPagedByTheCoordinator) {
  const auto list = call_for("GET", "/api/v1/experiments?limit=20");
  EXPECT_EQ(list.request.get.resource, "experiments");
  EXPECT_EQ(list.request.get.limit, 0);
  const auto one = call_for("GET", "/api/v1/jobs/train-1");
  EXPECT_EQ(one.request.get.name, "train-1");
  EXPECT_EQ(one.request.get.limit, 0);
}

TEST(ApiCalls, ADeleteAndAnApplyCarryWhatTheyChange) {
  const auto removed = call_for("DELETE", "/api/v1/notebooks/alice?purge=true");
  EXPECT_EQ(removed.request.verb, "delete");
  EXPECT_EQ(removed.request.remove.resource, "notebooks");
  EXPECT_EQ(removed.request.remove.name, "alice");
  EXPECT_TRUE(removed.request.remove.purge);
  const auto applied = call_for("POST", "/api/v1/apply", "kind: Job\n");
  EXPECT_EQ(applied.request.verb, "apply");
  EXPECT_EQ(applied.request.apply.manifest, "kind: Job\n");
}

TEST(ApiCalls, StopStartAndLineageReadFirstAndLogsAndMetricsSayWhichPiece) {
  const auto stop = call_for("POST", "/api/v1/notebooks/alice/stop");
  EXPECT_EQ(stop.request.verb, "get");  // the notebook's manifest, then an apply
  EXPECT_EQ(stop.request.get.resource, "notebooks");
  EXPECT_EQ(stop.request.get.name, "alice");
  const auto lineage = call_for("GET", "/api/v1/lineage?artifact=file:///m");
  EXPECT_EQ(lineage.request.verb, "get");
  EXPECT_EQ(lineage.request.get.resource, "runs");
  const auto logs = call_for("GET", "/api/v1/jobs/train/logs?replica=worker-1&offset=-100");
  EXPECT_EQ(logs.request.verb, "logs");
  EXPECT_EQ(logs.request.logs.name, "train");
  EXPECT_EQ(logs.request.logs.replica, "worker-1");
  EXPECT_EQ(logs.request.logs.offset, -100);
  const auto metrics = call_for("GET", "/api/v1/trainjobs/train/metrics?metric=loss&maxPoints=5");
  EXPECT_EQ(metrics.request.verb, "metrics");
  EXPECT_EQ(metrics.request.metrics.resource, "trainjobs");
  EXPECT_EQ(metrics.request.metrics.metric, "loss");
  EXPECT_EQ(metrics.request.metrics.max_points, 5);
}

}  // namespace api_calls_test
}  // namespace cadre::ingress

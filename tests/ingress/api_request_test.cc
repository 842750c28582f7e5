#include "ingress/api_request.h"

#include <gtest/gtest.h>

namespace cadre::ingress {
namespace {

StatusCode code_of(std::string_view target) { return parse_api_target(target).status().code(); }
std::string error_of(std::string_view target) {
  return parse_api_target(target).status().message();
}

TEST(ApiRequest, NamesAKindOneObjectAndANamespace) {
  auto list = parse_api_target("/api/v1/jobs");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->kind, "jobs");
  EXPECT_EQ(list->name, "");
  EXPECT_EQ(list->ns, "");
  EXPECT_EQ(list->limit, 500u);
  auto one = parse_api_target("/api/v1/namespaces/team-a/inferenceservices/fmnist/");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->kind, "inferenceservices");
  EXPECT_EQ(one->ns, "team-a");
  EXPECT_EQ(one->name, "fmnist");
  EXPECT_EQ(parse_api_target("/api/v1/session")->kind, "session");
  EXPECT_EQ(parse_api_target("/api/v1/nodes/local-1")->name, "local-1");
}

TEST(ApiRequest, ReadsEveryFilterAndBoundsThePage) {
  auto q = parse_api_target(
      "/api/v1/jobs?limit=2&continue=fmnist-3&prefix=fm&phase=Running&owner=experiment%2Ftune"
      "&labelSelector=zone%3Da,gpu%3Dh200");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->limit, 2u);
  EXPECT_EQ(q->after, "fmnist-3");
  EXPECT_EQ(q->prefix, "fm");
  EXPECT_EQ(q->phase, "Running");
  EXPECT_EQ(q->owner, "experiment/tune");
  ASSERT_EQ(q->labels.size(), 2u);
  EXPECT_EQ(q->labels[1], (std::pair<std::string, std::string>{"gpu", "h200"}));
  EXPECT_EQ(error_of("/api/v1/jobs?limit=0"), "limit '0' must be 1..1000");
  EXPECT_EQ(error_of("/api/v1/jobs?limit=99999999999999999999"),
            "limit '99999999999999999999' must be 1..1000");
  EXPECT_EQ(error_of("/api/v1/jobs?sort=name"),
            "unknown query parameter 'sort' (limit, continue, prefix, phase, owner, "
            "labelSelector)");
  EXPECT_EQ(code_of("/api/v1/jobs?phase=%3Cscript%3E"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/jobs?labelSelector=novalue"), StatusCode::kInvalidArgument);
}

TEST(ApiRequest, RefusesNamesThatCouldClimbAPathAndPathsItDoesNotHave) {
  EXPECT_EQ(code_of("/api/v1/jobs/.."), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/jobs/%2e%2e"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/namespaces/../jobs"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/jobs/a/b"), StatusCode::kNotFound);
  EXPECT_EQ(code_of("/api/v1/secrets"), StatusCode::kNotFound);
  EXPECT_EQ(code_of("/api/v2/jobs"), StatusCode::kNotFound);
  EXPECT_EQ(code_of("/api/v1/namespaces/a/nodes"), StatusCode::kNotFound);
  EXPECT_EQ(code_of("/api/v1/session/x"), StatusCode::kNotFound);
  EXPECT_EQ(code_of("/api/v1/" + std::string(9000, 'a')), StatusCode::kInvalidArgument);
  // Errors quote at most a short prefix of what was sent.
  EXPECT_LT(error_of("/api/v1/jobs/" + std::string(5000, '%')).size(), 120u);
}

TEST(ApiRequest, PagesSortedByNameAfterTheContinueMarkWithFilters) {
  nlohmann::json items = nlohmann::json::array();
  for (const char* name : {"c", "a", "d", "b"}) {
    items.push_back({{"name", name}, {"phase", std::string(name) == "d" ? "Failed" : "Running"}});
  }
  ApiQuery q;
  q.limit = 2;
  auto page = api_page(items, q);
  EXPECT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["name"], "a");
  EXPECT_EQ(page["continue"], "b");
  q.after = "b";
  page = api_page(items, q);
  EXPECT_EQ(page["items"][0]["name"], "c");
  EXPECT_EQ(page["items"][1]["name"], "d");
  EXPECT_TRUE(page["continue"].is_null()) << "nothing follows the last page";
  q = ApiQuery{};
  q.phase = "Failed";
  page = api_page(items, q);
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["name"], "d");
  q = ApiQuery{};
  q.labels = {{"zone", "a"}};
  EXPECT_TRUE(api_page(items, q)["items"].empty()) << "objects without labels never match";
}

TEST(ApiRequest, ChangesAreADeleteOfOneObjectOrAnApplyAndNothingElse) {
  auto removal = parse_api_call("DELETE", "/api/v1/namespaces/team-a/notebooks/lab?purge=true");
  ASSERT_TRUE(removal.ok()) << removal.status().message();
  EXPECT_EQ(removal->verb, "delete");
  EXPECT_EQ(removal->kind, "notebooks");
  EXPECT_EQ(removal->name, "lab");
  EXPECT_TRUE(removal->purge);
  auto apply = parse_api_call("POST", "/api/v1/apply");
  ASSERT_TRUE(apply.ok());
  EXPECT_EQ(apply->verb, "apply");
  EXPECT_EQ(parse_api_call("POST", "/api/v1/namespaces/team-a/apply")->ns, "team-a");
  EXPECT_EQ(parse_api_call("GET", "/api/v1/jobs")->verb, "get");
  // 405: not a method or path the API changes things with.
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"DELETE", "/api/v1/jobs"},
                                                        {"DELETE", "/api/v1/session"},
                                                        {"POST", "/api/v1/jobs"},
                                                        {"PUT", "/api/v1/jobs/a"},
                                                        {"PATCH", "/api/v1/jobs/a"}}) {
    EXPECT_EQ(parse_api_call(method, target).status().code(), StatusCode::kFailedPrecondition)
        << method << " " << target;
  }
  EXPECT_EQ(parse_api_call("DELETE", "/api/v1/jobs/a?limit=1").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_api_call("DELETE", "/api/v1/jobs/..").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_api_call("POST", "/api/v1/apply?x=1").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ApiRequest, ReadsAJobsLogsAndMetricsWithTheirOwnBoundedParameters) {
  auto logs = parse_api_target(
      "/api/v1/namespaces/team-a/trainjobs/fmnist/"
      "logs?replica=worker-1&offset=-4096&maxBytes=1000");
  ASSERT_TRUE(logs.ok()) << logs.status().message();
  EXPECT_EQ(logs->verb, "logs");
  EXPECT_EQ(logs->kind, "trainjobs");
  EXPECT_EQ(logs->name, "fmnist");
  EXPECT_EQ(logs->replica, "worker-1");
  EXPECT_EQ(logs->offset, -4096);
  EXPECT_EQ(logs->max_bytes, 1000);
  EXPECT_FALSE(is_change(*logs));
  auto metrics = parse_api_target("/api/v1/jobs/fmnist/metrics?metric=accuracy&maxPoints=50");
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();
  EXPECT_EQ(metrics->verb, "metrics");
  EXPECT_EQ(metrics->metric, "accuracy");
  EXPECT_EQ(metrics->max_points, 50);
  EXPECT_EQ(parse_api_target("/api/v1/jobs/fmnist/logs")->max_bytes, kApiDefaultLogBytes);
  EXPECT_EQ(error_of("/api/v1/jobs/fmnist/logs?maxBytes=0"), "maxBytes '0' must be 1..4194304");
  EXPECT_EQ(error_of("/api/v1/jobs/fmnist/logs?maxBytes=99999999999999999999"),
            "maxBytes '99999999999999999999' must be 1..4194304");
  EXPECT_EQ(error_of("/api/v1/jobs/fmnist/logs?offset=1e3"),
            "offset '1e3' must be -1099511627776..1099511627776");
  EXPECT_EQ(error_of("/api/v1/jobs/fmnist/logs?limit=5"),
            "unknown query parameter 'limit' (replica, offset, maxBytes)");
  EXPECT_EQ(error_of("/api/v1/jobs/fmnist/metrics?maxPoints=100001"),
            "maxPoints '100001' must be 1..100000");
  EXPECT_EQ(code_of("/api/v1/jobs/fmnist/metrics?metric=%3Cimg%20onerror%3D1%3E"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/jobs/fmnist/logs?replica=..%2F..%2Fkeys"),
            StatusCode::kInvalidArgument);
  // Only jobs have logs and metric histories, and only by name.
  EXPECT_EQ(code_of("/api/v1/experiments/tune/logs"), StatusCode::kNotFound);
  EXPECT_EQ(code_of("/api/v1/jobs/logs"), StatusCode::kOk) << "a job may be called logs";
  EXPECT_EQ(code_of("/api/v1/jobs/a/secrets"), StatusCode::kNotFound);
  EXPECT_EQ(parse_api_call("DELETE", "/api/v1/jobs/a/logs").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(ApiRequest, ReadsAServicesTrafficWithoutParameters) {
  auto traffic = parse_api_target("/api/v1/namespaces/team-a/inferenceservices/fmnist/traffic");
  ASSERT_TRUE(traffic.ok()) << traffic.status().message();
  EXPECT_EQ(traffic->verb, "traffic");
  EXPECT_EQ(traffic->kind, "inferenceservices");
  EXPECT_EQ(traffic->name, "fmnist");
  EXPECT_FALSE(is_change(*traffic));
  EXPECT_EQ(code_of("/api/v1/inferenceservices/fmnist/traffic?since=1"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/jobs/fmnist/traffic"), StatusCode::kNotFound);
  EXPECT_EQ(code_of("/api/v1/inferenceservices/traffic"), StatusCode::kOk)
      << "a service may be called traffic";
  EXPECT_EQ(parse_api_call("DELETE", "/api/v1/inferenceservices/fmnist/traffic").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(ApiRequest, ReadsALineageQueryOfOneArtifactWithItsDirectionAndDepth) {
  auto up =
      parse_api_target("/api/v1/namespaces/team-a/lineage?artifact=file%3A%2F%2F%2Fd%2Fmodel");
  ASSERT_TRUE(up.ok()) << up.status().message();
  EXPECT_EQ(up->verb, "lineage");
  EXPECT_EQ(up->ns, "team-a");
  EXPECT_EQ(up->artifact, "file:///d/model");
  EXPECT_FALSE(up->downstream);
  EXPECT_EQ(up->depth, 10);
  EXPECT_FALSE(is_change(*up));
  auto down = parse_api_target("/api/v1/lineage?artifact=x&direction=downstream&depth=3");
  ASSERT_TRUE(down.ok()) << down.status().message();
  EXPECT_TRUE(down->downstream);
  EXPECT_EQ(down->depth, 3);
  EXPECT_EQ(error_of("/api/v1/lineage"),
            "lineage needs artifact=URI (an artifact's uri, as a run shows it)");
  EXPECT_EQ(error_of("/api/v1/lineage?artifact=x&direction=sideways"),
            "direction 'sideways' must be upstream or downstream");
  EXPECT_EQ(error_of("/api/v1/lineage?artifact=x&depth=51"), "depth '51' must be 1..50");
  EXPECT_EQ(code_of("/api/v1/lineage?artifact=a%0Ab"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/lineage?artifact=" + std::string(3000, 'a')),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("/api/v1/lineage?artifact=x&limit=5"), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_api_call("DELETE", "/api/v1/lineage?artifact=x").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(ApiRequest, StopsAndStartsANotebookByPostAndNothingElse) {
  auto stop = parse_api_call("POST", "/api/v1/namespaces/team-a/notebooks/lab/stop");
  ASSERT_TRUE(stop.ok()) << stop.status().message();
  EXPECT_EQ(stop->verb, "stop");
  EXPECT_EQ(stop->kind, "notebooks");
  EXPECT_EQ(stop->name, "lab");
  EXPECT_EQ(stop->ns, "team-a");
  EXPECT_TRUE(is_change(*stop));
  EXPECT_EQ(parse_api_call("POST", "/api/v1/notebooks/lab/start")->verb, "start");
  EXPECT_EQ(parse_api_call("POST", "/api/v1/jobs/lab/stop").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(parse_api_call("POST", "/api/v1/notebooks/stop").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(parse_api_call("POST", "/api/v1/notebooks/lab/stop?now=1").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_api_call("GET", "/api/v1/notebooks/lab/stop").status().code(),
            StatusCode::kNotFound)
      << "reading cannot stop anything";
}

TEST(ApiRequest, SuspendsAndResumesAJobOrTrainJobByPostAndNothingElse) {
  auto suspend = parse_api_call("POST", "/api/v1/namespaces/team-a/trainjobs/ring/suspend");
  ASSERT_TRUE(suspend.ok()) << suspend.status().message();
  EXPECT_EQ(suspend->verb, "suspend");
  EXPECT_EQ(suspend->kind, "trainjobs");
  EXPECT_EQ(suspend->name, "ring");
  EXPECT_EQ(suspend->ns, "team-a");
  EXPECT_TRUE(is_change(*suspend));
  EXPECT_EQ(parse_api_call("POST", "/api/v1/jobs/hello/resume")->verb, "resume");
  EXPECT_TRUE(is_change(*parse_api_call("POST", "/api/v1/jobs/hello/resume")));
  EXPECT_EQ(parse_api_call("POST", "/api/v1/notebooks/lab/suspend").status().code(),
            StatusCode::kFailedPrecondition)
      << "a notebook stops";
  EXPECT_EQ(parse_api_call("POST", "/api/v1/experiments/tune/suspend").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(parse_api_call("POST", "/api/v1/trainjobs/suspend").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(parse_api_call("POST", "/api/v1/jobs/hello/suspend?now=1").status().message(),
            "a job's suspend takes no query parameters");
  EXPECT_EQ(parse_api_call("GET", "/api/v1/jobs/hello/suspend").status().code(),
            StatusCode::kNotFound)
      << "reading cannot suspend anything";
}

}  // namespace
}  // namespace cadre::ingress

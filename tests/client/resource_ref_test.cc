#include "client/resource_ref.h"

#include <gtest/gtest.h>

#include "client/notebook_commands.h"
#include "client/pipeline_commands.h"
#include "client/service_commands.h"
#include "client/watch_commands.h"
#include "tests/support/status_matchers.h"

namespace cadre::client {
namespace {

TEST(ParseResourceRef, ReadsTypeSlashName) {
  const auto ref = parse_resource_ref({"job/hello"});
  ASSERT_OK(ref);
  EXPECT_EQ(ref->type.resource, "jobs");
  EXPECT_EQ(ref->name, "hello");
  EXPECT_EQ(ref->display(), "job/hello");
}

TEST(ParseResourceRef, ReadsTypeThenNameAsTwoArguments) {
  const auto ref = parse_resource_ref({"jobs", "hello"});
  ASSERT_OK(ref);
  EXPECT_EQ(ref->type.resource, "jobs");
  EXPECT_EQ(ref->name, "hello");
}

TEST(ParseResourceRef, ReadsAPluralAloneAsEveryResourceOfThatType) {
  for (const char* word : {"nodes", "node", "no", "NODES"}) {
    const auto ref = parse_resource_ref({word});
    ASSERT_OK(ref) << word;
    EXPECT_EQ(ref->type.resource, "nodes");
    EXPECT_TRUE(ref->name.empty());
  }
}

TEST(ParseResourceRef, RejectsUnknownTypesEmptyNamesAndExtraArguments) {
  EXPECT_FALSE(parse_resource_ref({"pods"}).ok());
  EXPECT_FALSE(parse_resource_ref({"job/"}).ok());
  EXPECT_FALSE(parse_resource_ref({"job/a", "b"}).ok());
  EXPECT_FALSE(parse_resource_ref({}).ok());
}

TEST(ParseResourceRef, ReadsTrainJobInEverySpellingUsersType) {
  const std::vector<std::vector<std::string>> forms = {
      {"trainjob/mnist"},    {"trainjobs/mnist"}, {"tj/mnist"},          {"TrainJob/mnist"},
      {"trainjob", "mnist"}, {"tj", "mnist"},     {"TRAINJOBS", "mnist"}};
  for (const auto& form : forms) {
    const auto ref = parse_resource_ref(form);
    ASSERT_OK(ref) << form[0];
    EXPECT_EQ(ref->type.resource, "trainjobs") << form[0];
    EXPECT_EQ(ref->name, "mnist") << form[0];
    EXPECT_EQ(ref->display(), "trainjob/mnist") << form[0];
  }
  const auto all = parse_resource_ref({"tj"});
  ASSERT_OK(all);
  EXPECT_EQ(all->type.resource, "trainjobs");
  EXPECT_TRUE(all->name.empty());
}

TEST(ParseResourceRef, RejectsMisspelledTrainJobFormsNamingTheKnownTypes) {
  for (const char* word : {"train-job/a", "tjs/a", "trainjobz", "pytorchjob/a"}) {
    const auto ref = parse_resource_ref({word});
    ASSERT_FALSE(ref.ok()) << word;
    EXPECT_NE(
        ref.status().message().find("known: jobs, trainjobs, nodes, queues, experiments, trials"),
        std::string::npos)
        << ref.status().message();
  }
  EXPECT_FALSE(parse_resource_ref({"trainjob/"}).ok());
  EXPECT_FALSE(parse_resource_ref({"tj/a", "b"}).ok());
}

TEST(ParseNamedRef, RequiresANameAndAJobOrTrainJob) {
  EXPECT_OK(parse_named_ref({"job/a"}, kJobResources));
  EXPECT_OK(parse_named_ref({"trainjob/a"}, kJobResources));
  EXPECT_OK(parse_named_ref({"tj", "a"}, kJobResources));
  EXPECT_FALSE(parse_named_ref({"jobs"}, kJobResources).ok());
  EXPECT_FALSE(parse_named_ref({"trainjobs"}, kJobResources).ok());
  const auto node = parse_named_ref({"node/a"}, kJobResources);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().message(), "this command works on jobs or trainjobs, not nodes");
}

TEST(CheckReplicaName, AcceptsLowerCaseTypeDashIndex) {
  for (const char* name : {"worker-1", "ps-0", "main-0", "chief-0", "worker-10"}) {
    EXPECT_OK(check_replica_name(name)) << name;
  }
}

TEST(CheckReplicaName, RejectsOtherShapesNamingTheValueAndTheExpectedForm) {
  for (const char* name : {"Worker-1", "worker1", "worker-", "-1", "worker-01", "worker-1a",
                           "worker_1", "worker--1", "rank-0-1", "1", ""}) {
    const Status status = check_replica_name(name);
    ASSERT_FALSE(status.ok()) << name;
    EXPECT_EQ(status.message(), std::string("--replica '") + name +
                                    "': expected <type>-<index> in lower case, e.g. worker-1 "
                                    "or ps-0");
  }
}

TEST(ParseWaitCondition, AcceptsPhasesBareOrAsKubectlConditions) {
  EXPECT_EQ(*parse_wait_condition("Succeeded"), protocol::JobPhase::kSucceeded);
  EXPECT_EQ(*parse_wait_condition("condition=Succeeded"), protocol::JobPhase::kSucceeded);
  EXPECT_EQ(*parse_wait_condition("condition=complete"), protocol::JobPhase::kSucceeded);
  EXPECT_EQ(*parse_wait_condition("failed"), protocol::JobPhase::kFailed);
  EXPECT_EQ(*parse_wait_condition("Condition=Failed"), protocol::JobPhase::kFailed);
  EXPECT_EQ(*parse_wait_condition("Running"), protocol::JobPhase::kRunning);
  EXPECT_EQ(*parse_wait_condition("restarting"), protocol::JobPhase::kRestarting);
  EXPECT_EQ(*parse_wait_condition("condition=Restarting"), protocol::JobPhase::kRestarting);
  EXPECT_EQ(*parse_wait_condition("Queued"), protocol::JobPhase::kQueued);
}

TEST(ParseWaitCondition, ServicesRunsAndNotebooksTakeTheirOwnStatesInAnyCase) {
  EXPECT_EQ(*parse_service_condition("condition=ready"), protocol::ServiceConditionType::kReady);
  EXPECT_EQ(*parse_service_condition("PredictorReady"),
            protocol::ServiceConditionType::kPredictorReady);
  EXPECT_FALSE(parse_service_condition("Succeeded").ok());
  EXPECT_EQ(*parse_run_state("succeeded"), protocol::PipelineState::kSucceeded);
  EXPECT_EQ(*parse_run_state("condition=Canceled"), protocol::PipelineState::kCanceled);
  EXPECT_FALSE(parse_run_state("Skipped").ok()) << "a run is never skipped";
  EXPECT_EQ(*parse_notebook_state("Ready"), protocol::NotebookPhase::kRunning);
  EXPECT_EQ(*parse_notebook_state("condition=stopped"), protocol::NotebookPhase::kStopped);
  const auto bad = parse_notebook_state("Succeeded");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'Succeeded'"), std::string::npos);
}

TEST(ParseWaitCondition, RejectsAnythingElseNamingTheValue) {
  const auto condition = parse_wait_condition("condition=Ready");
  ASSERT_FALSE(condition.ok());
  EXPECT_NE(condition.status().message().find("condition=Ready"), std::string::npos);
  EXPECT_FALSE(parse_wait_condition("").ok());
}

TEST(ParseDuration, TreatsBareNumbersAsSecondsAndHonoursUnits) {
  EXPECT_EQ(parse_duration("60")->count(), 60000);
  EXPECT_EQ(parse_duration("1.5s")->count(), 1500);
  EXPECT_EQ(parse_duration("5m")->count(), 300000);
  EXPECT_EQ(parse_duration("1h")->count(), 3600000);
  EXPECT_FALSE(parse_duration("soon").ok());
  EXPECT_FALSE(parse_duration("-1").ok());
  EXPECT_FALSE(parse_duration("10x").ok());
}

}  // namespace
}  // namespace cadre::client

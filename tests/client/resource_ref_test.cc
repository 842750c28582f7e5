#include "client/resource_ref.h"

#include <gtest/gtest.h>

#include "client/watch_commands.h"

namespace cadre::client {
namespace {

TEST(ParseResourceRef, ReadsTypeSlashName) {
  const auto ref = parse_resource_ref({"job/hello"});
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->type.resource, "jobs");
  EXPECT_EQ(ref->name, "hello");
  EXPECT_EQ(ref->display(), "job/hello");
}

TEST(ParseResourceRef, ReadsTypeThenNameAsTwoArguments) {
  const auto ref = parse_resource_ref({"jobs", "hello"});
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->type.resource, "jobs");
  EXPECT_EQ(ref->name, "hello");
}

TEST(ParseResourceRef, ReadsAPluralAloneAsEveryResourceOfThatType) {
  for (const char* word : {"nodes", "node", "no", "NODES"}) {
    const auto ref = parse_resource_ref({word});
    ASSERT_TRUE(ref.ok()) << word;
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

TEST(ParseNamedRef, RequiresANameAndTheExpectedType) {
  EXPECT_TRUE(parse_named_ref({"job/a"}, "jobs").ok());
  EXPECT_FALSE(parse_named_ref({"jobs"}, "jobs").ok());
  EXPECT_FALSE(parse_named_ref({"node/a"}, "jobs").ok());
}

TEST(ParseWaitCondition, AcceptsPhasesBareOrAsKubectlConditions) {
  EXPECT_EQ(*parse_wait_condition("Succeeded"), "Succeeded");
  EXPECT_EQ(*parse_wait_condition("condition=Succeeded"), "Succeeded");
  EXPECT_EQ(*parse_wait_condition("condition=complete"), "Succeeded");
  EXPECT_EQ(*parse_wait_condition("failed"), "Failed");
  EXPECT_EQ(*parse_wait_condition("Condition=Failed"), "Failed");
  EXPECT_EQ(*parse_wait_condition("Running"), "Running");
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

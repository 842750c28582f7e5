// A finished step's outputs on their own: where each comes from, in which order,
// and what a missing one says.
#include "pipelines/task_outputs.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace cadre::pipelines {
namespace {

using nlohmann::json;

class TaskOutputsTest : public ::testing::Test {
 protected:
  TaskOutputsTest() {
    step_.component = &component_;
    step_.job = "run-1";
    step_.dir = "/runs/r/train";
  }
  spec::Component component_;
  FinishedStep step_;
  TaskOutputFiles files_;
};

TEST_F(TaskOutputsTest, AParameterComesFromExecutorOutputThenItsFileThenTheJobsReport) {
  component_.outputs.parameters["a"].type = spec::ParameterType::kInteger;
  component_.outputs.parameters["b"].type = spec::ParameterType::kString;
  component_.outputs.parameters["accuracy"].type = spec::ParameterType::kDouble;
  files_.executor_output = R"({"parameterValues": {"a": "7"}})";
  files_.parameters["a"] = "1";
  files_.parameters["b"] = "written by echo\n";
  step_.reported = {{"accuracy", 0.875}, {"b", "not this"}};
  auto outputs = collect_task_outputs(step_, files_);
  ASSERT_OK(outputs);
  EXPECT_EQ(outputs->parameters, (json{{"a", 7}, {"b", "written by echo"}, {"accuracy", 0.875}}));
}

TEST_F(TaskOutputsTest, AMissingParameterNamesTheFileItWasLookedForAndTheMetric) {
  component_.outputs.parameters["loss"].type = spec::ParameterType::kDouble;
  auto outputs = collect_task_outputs(step_, files_);
  ASSERT_FALSE(outputs.ok());
  EXPECT_EQ(outputs.status().message(),
            "output parameter 'loss' was not written (/runs/r/train/parameters/loss) and its job "
            "reported no metric 'loss'");
  step_.job = "inferenceservice/fmnist";
  outputs = collect_task_outputs(step_, files_);
  ASSERT_FALSE(outputs.ok());
  EXPECT_NE(outputs.status().message().find("not something a service reports"), std::string::npos);
}

TEST_F(TaskOutputsTest, AFileThatIsNotOfTheDeclaredTypeFailsWithTheOutputsName) {
  component_.outputs.parameters["epochs"].type = spec::ParameterType::kInteger;
  files_.parameters["epochs"] = "three";
  auto outputs = collect_task_outputs(step_, files_);
  ASSERT_FALSE(outputs.ok());
  EXPECT_EQ(outputs.status().message().rfind("output parameter: ", 0), 0u)
      << outputs.status().message();
  EXPECT_NE(outputs.status().message().find("epochs"), std::string::npos);
}

TEST_F(TaskOutputsTest, AWorkloadsModelIsTheOneItsJobExportedAndItsMetricsItsReport) {
  step_.workload = true;
  component_.outputs.artifacts["model"].schema_title = "system.Model";
  component_.outputs.artifacts["metrics"].schema_title = "system.Metrics";
  step_.reported = {{"accuracy", 0.9}, {"note", "text is not a metric"}};
  auto missing = collect_task_outputs(step_, files_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("its job exported no model"), std::string::npos);

  files_.exported_model = "/ckpt/default/run-1/model.cadre";
  auto outputs = collect_task_outputs(step_, files_);
  ASSERT_OK(outputs);
  ASSERT_EQ(outputs->artifacts.size(), 2u);
  EXPECT_EQ(outputs->artifacts[0].name, "metrics");
  EXPECT_EQ(outputs->artifacts[0].uri, "file:///runs/r/train/artifacts/metrics");
  EXPECT_EQ(json::parse(outputs->artifacts[0].metadata), (json{{"accuracy", 0.9}}));
  EXPECT_EQ(outputs->artifacts[1].uri, "file:///ckpt/default/run-1/model.cadre");
}

TEST_F(TaskOutputsTest, ExecutorOutputDescribesAnArtifactsMetadataAndMustBeAnObject) {
  component_.outputs.artifacts["metrics"].schema_title = "system.Metrics";
  files_.artifacts.insert("metrics");
  files_.executor_output =
      R"({"artifacts": {"metrics": {"artifacts": [{"metadata": {"auc": 0.7}}]}}})";
  step_.reported = {{"accuracy", 0.9}};
  auto outputs = collect_task_outputs(step_, files_);
  ASSERT_OK(outputs);
  EXPECT_EQ(json::parse(outputs->artifacts[0].metadata), (json{{"auc", 0.7}}))
      << "what the step described wins over the job's report";
  // An artifact described by something other than an object describes nothing.
  files_.executor_output = R"({"artifacts": {"metrics": 3}, "parameterValues": [1]})";
  auto undescribed = collect_task_outputs(step_, files_);
  ASSERT_OK(undescribed);
  EXPECT_EQ(json::parse(undescribed->artifacts[0].metadata), (json{{"accuracy", 0.9}}));
  files_.executor_output = "[1, 2]";
  EXPECT_FALSE(collect_task_outputs(step_, files_).ok());
  files_.executor_output.reset();
  files_.error = "permission denied";
  auto unread = collect_task_outputs(step_, files_);
  ASSERT_FALSE(unread.ok());
  EXPECT_EQ(unread.status().message(), "reading its outputs failed: permission denied");
}

TEST(CoerceParameter, AcceptsWhatKfpsLauncherAcceptsAndNamesTheRest) {
  EXPECT_EQ(*coerce_parameter(json("3"), spec::ParameterType::kInteger, "n"), json(3));
  EXPECT_EQ(*coerce_parameter(json(3.0), spec::ParameterType::kInteger, "n"), json(3));
  EXPECT_EQ(*coerce_parameter(json(3), spec::ParameterType::kString, "s"), json("3"));
  EXPECT_TRUE(coerce_parameter(json(3), spec::ParameterType::kDouble, "x")->is_number_float());
  auto refused = coerce_parameter(json(3.5), spec::ParameterType::kInteger, "n");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "input parameter 'n': 3.5 is not a NUMBER_INTEGER value");
}

}  // namespace
}  // namespace cadre::pipelines

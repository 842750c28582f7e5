#include "client/pipeline_output.h"

#include <gtest/gtest.h>

namespace cadre::client {
namespace pipeline_output_test {

using protocol::PipelineState;
using protocol::PipelineTaskKind;
using protocol::PipelineTaskStatus;

PipelineTaskStatus step(const std::string& name, const std::string& job) {
  PipelineTaskStatus t;
  t.id = name;
  t.name = name;
  t.kind = PipelineTaskKind::kContainer;
  t.state = PipelineState::kSucceeded;
  t.job = job;
  return t;
}

TEST(StepWorkloadRef, NamesAJobAndKeepsTheKindOfAServiceOrAnExperiment) {
  EXPECT_EQ(step_workload_ref("r-3"), "job/r-3");
  EXPECT_EQ(step_workload_ref("inferenceservice/fmnist"), "inferenceservice/fmnist");
  EXPECT_EQ(step_workload_ref("experiment/r-2"), "experiment/r-2");
}

TEST(DescribeRun, EachStepSaysWhatItRanAsItCanBeDescribed) {
  protocol::PipelineRunStatus run;
  run.name = "r";
  run.pipeline = "p";
  run.state = PipelineState::kSucceeded;
  run.tasks = {step("train", "r-1"), step("tune", "experiment/r-2"),
               step("deploy", "inferenceservice/fmnist")};
  const std::string text = describe_run(run, 0);
  EXPECT_NE(text.find("train  SUCCEEDED"), std::string::npos) << text;
  EXPECT_NE(text.find("job/r-1"), std::string::npos) << text;
  EXPECT_NE(text.find("  experiment/r-2"), std::string::npos) << text;
  EXPECT_EQ(text.find("job/experiment/"), std::string::npos) << text;
  EXPECT_NE(text.find("  inferenceservice/fmnist"), std::string::npos) << text;
}

}  // namespace pipeline_output_test
}  // namespace cadre::client

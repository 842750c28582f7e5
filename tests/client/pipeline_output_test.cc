#include "client/pipeline_output.h"

#include <gtest/gtest.h>

namespace cadre::client {
namespace pipeline_output_test {

using protocol::PipelineState;
using protocol::PipelineTaskKind;
using protocol::PipelineTaskStatus;

PipelineTaskStatus step(const std::string& name, const std::string& job,
                        const std::string& workload_kind) {
  PipelineTaskStatus t;
  t.id = name;
  t.name = name;
  t.kind = PipelineTaskKind::kContainer;
  t.state = PipelineState::kSucceeded;
  t.job = job;
  t.workload_kind = workload_kind;
  return t;
}

TEST(StepWorkloadRef, NamesWhatAStepRanByTheKindDescribeTakes) {
  EXPECT_EQ(step_workload_ref(step("prepare", "r-1", "Job")), "job/r-1");
  EXPECT_EQ(step_workload_ref(step("train", "r-3", "TrainJob")), "trainjob/r-3");
  EXPECT_EQ(step_workload_ref(step("deploy", "inferenceservice/fmnist", "InferenceService")),
            "inferenceservice/fmnist");
  EXPECT_EQ(step_workload_ref(step("tune", "experiment/r-2", "Experiment")), "experiment/r-2");
}

TEST(StepWorkloadRef, IsEmptyBeforeAStepStartedAnything) {
  EXPECT_EQ(step_workload_ref(step("train", "", "")), "");
}

TEST(StepWorkloadRef, ReadsARunRecordedBeforeStepsKeptTheirKind) {
  EXPECT_EQ(step_workload_ref(step("train", "r-3", "")), "job/r-3");
  EXPECT_EQ(step_workload_ref(step("deploy", "inferenceservice/fmnist", "")),
            "inferenceservice/fmnist");
  EXPECT_EQ(step_workload_ref(step("tune", "experiment/r-2", "")), "experiment/r-2");
}

TEST(DescribeRun, EachStepSaysWhatItRanAsItCanBeDescribed) {
  protocol::PipelineRunStatus run;
  run.name = "r";
  run.pipeline = "p";
  run.state = PipelineState::kSucceeded;
  run.tasks = {step("prepare", "r-1", "Job"), step("train", "r-2", "TrainJob"),
               step("tune", "experiment/r-3", "Experiment"),
               step("deploy", "inferenceservice/fmnist", "InferenceService")};
  const std::string text = describe_run(run, 0);
  EXPECT_NE(text.find("prepare  SUCCEEDED  job/r-1"), std::string::npos) << text;
  EXPECT_NE(text.find("train  SUCCEEDED  trainjob/r-2"), std::string::npos) << text;
  EXPECT_NE(text.find("tune  SUCCEEDED  experiment/r-3"), std::string::npos) << text;
  EXPECT_NE(text.find("deploy  SUCCEEDED  inferenceservice/fmnist"), std::string::npos) << text;
}

TEST(RunToJson, GivesEachStepsWorkloadAsDescribeTakesIt) {
  protocol::PipelineRunStatus run;
  run.name = "r";
  run.tasks = {step("train", "r-2", "TrainJob")};
  const auto j = run_to_json(run, true);
  ASSERT_EQ(j["tasks"].size(), 1u) << j.dump();
  EXPECT_EQ(j["tasks"][0]["workload"], "trainjob/r-2");
  EXPECT_EQ(j["tasks"][0]["job"], "r-2");
}

}  // namespace pipeline_output_test
}  // namespace cadre::client

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

TEST(CompareRuns, PutsRunsSideBySideWithWholeNumbersShownWhole) {
  auto run = [](const std::string& name, const std::string& parameters, double loss) {
    protocol::PipelineRunStatus r;
    r.name = name;
    r.pipeline = "p";
    r.pipeline_version = 1;
    r.state = PipelineState::kSucceeded;
    r.parameters = parameters;
    auto t = step("evaluate", name + "-1", "Job");
    t.output_artifacts.push_back(
        {"metrics", "file:///m", "system.Metrics",
         R"({"test_images": 10000.0, "loss": )" + std::to_string(loss) + "}"});
    r.tasks = {t};
    return r;
  };
  const std::string text = compare_runs_table(
      {run("a", R"({"lr": 0.5, "epochs": 5})", 0.25), run("b", R"({"lr": 0.05})", 0.5)}, 0);
  EXPECT_EQ(text.rfind("RUN", 0), 0u) << text;
  EXPECT_NE(text.find("metric evaluate.test_images   10000"), std::string::npos) << text;
  EXPECT_EQ(text.find("10000.0"), std::string::npos) << text;
  EXPECT_NE(text.find("metric evaluate.loss          0.25"), std::string::npos) << text;
  EXPECT_NE(text.find("parameter lr                  0.5"), std::string::npos) << text;
  const auto epochs = text.find("parameter epochs");
  ASSERT_NE(epochs, std::string::npos) << text;
  const std::string row = text.substr(epochs, text.find('\n', epochs) - epochs);
  EXPECT_NE(row.find(" 5 "), std::string::npos) << row;
  EXPECT_EQ(row.back(), '-') << "a parameter one run lacks is a dash: " << row;
}

}  // namespace pipeline_output_test
}  // namespace cadre::client

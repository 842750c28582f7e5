// Input resolution on its own: sources, selectors, defaults and types, and the
// reason a missing input gives.
#include "pipelines/task_inputs.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/support/status_matchers.h"

namespace cadre::pipelines {
namespace {

using nlohmann::json;
using protocol::PipelineArtifact;
using protocol::PipelineState;
using protocol::PipelineTaskStatus;

spec::ParameterSource from_input(const std::string& name) {
  spec::ParameterSource s;
  s.kind = spec::ParameterSource::Kind::kComponentInput;
  s.name = name;
  return s;
}

spec::ParameterSource from_task(const std::string& task, const std::string& output) {
  spec::ParameterSource s;
  s.kind = spec::ParameterSource::Kind::kTaskOutput;
  s.producer_task = task;
  s.name = output;
  return s;
}

class TaskInputsTest : public ::testing::Test {
 protected:
  Result<TaskInputs> resolve(const spec::PipelineTask& task, const spec::Component& callee) {
    return resolve_task_inputs(task, callee,
                               InputScope{dag_inputs_, dag_artifacts_, [&](const std::string& n) {
                                            auto it = siblings_.find(n);
                                            return it == siblings_.end() ? nullptr : &it->second;
                                          }});
  }
  void sibling(const std::string& name, PipelineState state, const json& outputs) {
    PipelineTaskStatus t;
    t.name = name;
    t.state = state;
    t.outputs = outputs.dump();
    siblings_[name] = t;
  }

  json dag_inputs_ = json::object();
  std::vector<PipelineArtifact> dag_artifacts_;
  std::map<std::string, PipelineTaskStatus> siblings_;
};

TEST_F(TaskInputsTest, TakesEachParameterFromItsSourceAndTypesItAsTheCalleeDeclares) {
  dag_inputs_ = {{"epochs", "3"}};
  sibling("train", PipelineState::kSucceeded, {{"accuracy", 0.91}});
  spec::PipelineTask task;
  task.parameters["epochs"] = from_input("epochs");
  task.parameters["accuracy"] = from_task("train", "accuracy");
  spec::Component callee;
  callee.inputs.parameters["epochs"].type = spec::ParameterType::kInteger;
  callee.inputs.parameters["accuracy"].type = spec::ParameterType::kDouble;
  callee.inputs.parameters["threshold"].type = spec::ParameterType::kDouble;
  callee.inputs.parameters["threshold"].default_value = 0.5;
  auto resolved = resolve(task, callee);
  ASSERT_OK(resolved);
  EXPECT_EQ(resolved->parameters, (json{{"epochs", 3}, {"accuracy", 0.91}, {"threshold", 0.5}}));
}

TEST_F(TaskInputsTest, AMissingInputSaysWhichUpstreamTaskDidNotProduceItAndWhy) {
  sibling("train", PipelineState::kFailed, json::object());
  spec::PipelineTask task;
  task.parameters["accuracy"] = from_task("train", "accuracy");
  spec::Component callee;
  callee.inputs.parameters["accuracy"].type = spec::ParameterType::kDouble;
  auto resolved = resolve(task, callee);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().message(),
            "input parameter 'accuracy' has no value: task 'train' did not produce 'accuracy' (it "
            "is FAILED)");
}

TEST_F(TaskInputsTest, AnOptionalInputWithoutAValueIsLeftOut) {
  spec::PipelineTask task;
  task.parameters["note"] = from_input("note");
  spec::Component callee;
  callee.inputs.parameters["note"].optional = true;
  auto resolved = resolve(task, callee);
  ASSERT_OK(resolved);
  EXPECT_EQ(resolved->parameters, json::object());
}

TEST_F(TaskInputsTest, ASelectorPicksFromTheValueAndAFailingOneNamesTheInput) {
  dag_inputs_ = {{"words", "a,b"}};
  spec::PipelineTask task;
  task.parameters["count"] = from_input("words");
  task.parameters["count"].selector = "size(string_value)";
  spec::Component callee;
  callee.inputs.parameters["count"].type = spec::ParameterType::kInteger;
  auto resolved = resolve(task, callee);
  ASSERT_OK(resolved);
  EXPECT_EQ(resolved->parameters["count"], 3);

  task.parameters["count"].selector = "string_value.nope";
  auto failed = resolve(task, callee);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message().rfind("input parameter 'count': selector", 0), 0u)
      << failed.status().message();
}

TEST_F(TaskInputsTest, ArtifactsComeFromTheDagOrASucceededUpstreamUnderTheTasksOwnName) {
  PipelineArtifact data;
  data.name = "dataset";
  data.uri = "file:///runs/r/prepare/artifacts/dataset";
  dag_artifacts_ = {data};
  spec::PipelineTask task;
  task.artifacts["train_data"].kind = spec::ArtifactSource::Kind::kComponentInput;
  task.artifacts["train_data"].name = "dataset";
  task.artifacts["model"].kind = spec::ArtifactSource::Kind::kTaskOutput;
  task.artifacts["model"].producer_task = "train";
  task.artifacts["model"].name = "model";
  sibling("train", PipelineState::kRunning, json::object());
  auto missing = resolve(task, spec::Component{});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("task 'train' did not produce it"), std::string::npos);

  PipelineArtifact model;
  model.name = "model";
  model.uri = "file:///runs/r/train/artifacts/model";
  siblings_["train"].state = PipelineState::kSucceeded;
  siblings_["train"].output_artifacts = {model};
  auto resolved = resolve(task, spec::Component{});
  ASSERT_OK(resolved);
  ASSERT_EQ(resolved->artifacts.size(), 2u);
  EXPECT_EQ(resolved->artifacts[0].name, "model");
  EXPECT_EQ(resolved->artifacts[0].uri, model.uri);
  EXPECT_EQ(resolved->artifacts[1].name, "train_data");
  EXPECT_EQ(resolved->artifacts[1].uri, data.uri);
}

}  // namespace
}  // namespace cadre::pipelines

#include "client/lineage.h"

#include <gtest/gtest.h>

namespace cadre::client {
namespace {

using protocol::PipelineRunStatus;
using protocol::PipelineState;
using protocol::PipelineTaskKind;
using protocol::PipelineTaskStatus;

PipelineTaskStatus step(const std::string& id, const std::string& parent,
                        std::vector<std::string> upstream) {
  PipelineTaskStatus t;
  t.id = id;
  t.name = id.substr(id.rfind('/') + 1);
  t.parent = parent;
  t.kind = PipelineTaskKind::kContainer;
  t.state = PipelineState::kSucceeded;
  t.upstream = std::move(upstream);
  return t;
}

protocol::PipelineArtifact artifact(const std::string& name, const std::string& uri) {
  return {name, uri, "system.Model", "{}"};
}

// data -> train (model) -> gate/publish (a step inside a condition DAG), and a
// second run whose train step was cached from the first.
std::vector<PipelineRunStatus> runs() {
  PipelineRunStatus r;
  r.name = "r1";
  r.pipeline = "p";
  r.parameters = R"({"lr": 0.1})";
  auto data = step("data", "", {});
  auto train = step("train", "", {"data"});
  train.inputs = R"({"lr": 0.1})";
  train.output_artifacts = {artifact("model", "file:///m")};
  PipelineTaskStatus gate;
  gate.id = "gate";
  gate.name = "gate";
  gate.kind = PipelineTaskKind::kDag;
  gate.upstream = {"train"};
  auto publish = step("gate/publish", "gate", {});
  publish.input_artifacts = {artifact("model", "file:///m")};
  publish.output_artifacts = {artifact("published", "file:///p")};
  r.tasks = {data, train, gate, publish};

  PipelineRunStatus again = r;
  again.name = "r2";
  again.tasks = {data, train};
  again.tasks[1].cached = true;
  again.tasks[1].cached_from = "r1/train";
  return {r, again};
}

TEST(Lineage, UpstreamFromAPublishedModelReachesTrainingAndItsData) {
  auto graph = lineage_json(runs(), "file:///p", {});
  ASSERT_TRUE(graph.ok()) << graph.status().to_string();
  std::vector<std::string> steps;
  for (const auto& e : graph->at("executions"))
    steps.push_back(e.at("run").get<std::string>() + "/" + e.at("task").get<std::string>());
  // The cached copy in r2 never counts as the model's producer.
  EXPECT_EQ(steps, (std::vector<std::string>{"r1/gate/publish", "r1/train", "r1/data"}));
  EXPECT_EQ(graph->at("executions")[1].at("parameters").at("lr"), 0.1);
  auto text = lineage_text(runs(), "file:///p", {});
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("  produced by run/r1 step gate/publish"), std::string::npos) << *text;
  EXPECT_NE(text->find("after run/r1 step data"), std::string::npos) << *text;
}

TEST(Lineage, DownstreamAndDepthAndUnknownArtifacts) {
  LineageOptions down;
  down.downstream = true;
  auto graph = lineage_json(runs(), "file:///m", down);
  ASSERT_TRUE(graph.ok());
  ASSERT_EQ(graph->at("executions").size(), 1u);
  EXPECT_EQ(graph->at("executions")[0].at("task"), "gate/publish");
  LineageOptions shallow;
  shallow.depth = 1;
  EXPECT_EQ(lineage_json(runs(), "file:///p", shallow)->at("executions").size(), 1u);
  auto unknown = lineage_json(runs(), "file:///nowhere", {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cadre::client

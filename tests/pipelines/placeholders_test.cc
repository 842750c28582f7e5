#include "pipelines/placeholders.h"

#include <gtest/gtest.h>

namespace cadre::pipelines {
namespace {

using nlohmann::json;

ExecutorContext context() {
  ExecutorContext c;
  c.parameters = {{"text", "hi there"}, {"n", 3}, {"xs", json::array({1, 2})}};
  c.input_artifacts["data"] = {"file:///a/data", "/a/data", "system.Dataset", {{"rows", 5}}};
  c.output_parameter_files["Output"] = "/t/parameters/Output";
  c.output_artifacts["model"] = {"file:///t/artifacts/model", "/t/artifacts/model", "system.Model",
                                 json::object()};
  c.output_file = "/t/executor_output.json";
  c.pipeline_info = {{"pipeline_job_name", "run-1"}, {"pipeline_task_name", "train"}};
  return c;
}

std::vector<std::string> resolve(std::vector<std::string> args) {
  auto r = resolve_args(args, context());
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::vector<std::string>{};
}

TEST(Placeholders, SubstituteEveryFormTheKfpLauncherDoes) {
  EXPECT_EQ(resolve({"{{$.inputs.parameters['text']}}", "--n={{$.inputs.parameters['n']}}",
                     "{{$.inputs.parameters['xs']}}"}),
            (std::vector<std::string>{"hi there", "--n=3", "[1,2]"}));
  EXPECT_EQ(resolve({"{{$.inputs.artifacts['data'].path}}", "{{$.inputs.artifacts['data'].uri}}",
                     "{{$.inputs.artifacts['data'].metadata}}"}),
            (std::vector<std::string>{"/a/data", "file:///a/data", "{\"rows\":5}"}));
  EXPECT_EQ(resolve({"{{$.outputs.parameters['Output'].output_file}}",
                     "{{$.outputs.artifacts['model'].path}}", "{{$.outputs.output_file}}"}),
            (std::vector<std::string>{"/t/parameters/Output", "/t/artifacts/model",
                                      "/t/executor_output.json"}));
  EXPECT_EQ(resolve({"{{$.pipeline_job_name}}/{{$.pipeline_task_name}}"}),
            (std::vector<std::string>{"run-1/train"}));
}

TEST(Placeholders, ExecutorInputIsKfpsMessageAsJson) {
  auto args = resolve({"{{$}}"});
  ASSERT_EQ(args.size(), 1u);
  json input = json::parse(args[0]);
  EXPECT_EQ(input["inputs"]["parameterValues"]["text"], "hi there");
  EXPECT_EQ(input["inputs"]["artifacts"]["data"]["artifacts"][0]["uri"], "file:///a/data");
  EXPECT_EQ(input["outputs"]["parameters"]["Output"]["outputFile"], "/t/parameters/Output");
  EXPECT_EQ(input["outputs"]["artifacts"]["model"]["artifacts"][0]["type"]["schemaTitle"],
            "system.Model");
  EXPECT_EQ(input["outputs"]["outputFile"], "/t/executor_output.json");
}

TEST(Placeholders, ConcatAndIfPresentExpandAsTheCompilerMeantThem) {
  EXPECT_EQ(resolve({R"({"Concat": ["--text=", "{{$.inputs.parameters['text']}}"]})"}),
            (std::vector<std::string>{"--text=hi there"}));
  EXPECT_EQ(
      resolve(
          {R"({"IfPresent": {"InputName": "n", "Then": ["--n", "{{$.inputs.parameters['n']}}"]}})"}),
      (std::vector<std::string>{"--n", "3"}));
  EXPECT_EQ(
      resolve({"a", R"({"IfPresent": {"InputName": "absent", "Then": ["--x"], "Else": "--none"}})",
               "b"}),
      (std::vector<std::string>{"a", "--none", "b"}));
  EXPECT_EQ(resolve({R"({"IfPresent": {"InputName": "absent", "Then": ["--x"]}})"}),
            std::vector<std::string>{});
}

TEST(Placeholders, ScanFindsTheReferencesForApplyTimeChecks) {
  auto refs = scan_placeholders("{{$.inputs.parameters['a']}} {{$.outputs.artifacts['m'].uri}}");
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].kind, PlaceholderRef::Kind::kInputParameter);
  EXPECT_EQ((*refs)[0].name, "a");
  EXPECT_EQ((*refs)[1].kind, PlaceholderRef::Kind::kOutputArtifact);
  EXPECT_EQ((*refs)[1].field, "uri");
}

TEST(Placeholders, RefusesWhatKfpDoesNotDefine) {
  for (const char* bad : {"{{$.inputs.parameters['a'].path}}", "{{$.inputs.artifacts['a']}}",
                          "{{$.outputs.parameters['a']}}", "{{$.nonsense}}",
                          "{{$.inputs.parameters[a]}}", "{{$.inputs.parameters['a']",
                          "{{$.outputs.artifacts['m'].size}}", R"({"IfPresent": {"Then": ["x"]}})",
                          R"({"IfPresent": {"InputName": "a", "Otherwise": ["x"]}})"}) {
    EXPECT_FALSE(scan_placeholders(bad).ok()) << bad;
  }
  // A missing value at run time is an error, not an empty string.
  auto r = resolve_args({"{{$.inputs.parameters['absent']}}"}, context());
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace cadre::pipelines

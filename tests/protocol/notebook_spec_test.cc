#include <gtest/gtest.h>

#include "protocol/spec/manifest.h"
#include "protocol/spec/notebook_spec.h"

namespace cadre::spec::notebook_spec_test {
namespace {

std::string notebook(const std::string& spec) {
  return "apiVersion: cadre/v1\nkind: Notebook\nmetadata: {name: alice}\nspec:\n" + spec;
}

std::string error_of(const std::string& yaml) {
  auto parsed = parse_manifest(yaml);
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(NotebookSpec, AnEmptyTemplateRunsDebiansJupyterInTheNotebooksOwnFolder) {
  auto parsed = parse_manifest(notebook("  template: {}\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const auto& nb = *parsed->notebook;
  EXPECT_EQ(nb.replica.command, std::vector<std::string>{"jupyter-notebook"});
  EXPECT_TRUE(nb.default_command);
  EXPECT_EQ(nb.workspace_path, "");
  EXPECT_FALSE(nb.idle_culling_minutes.has_value());  // off, as Kubeflow's default
  EXPECT_FALSE(nb.stopped);
  EXPECT_EQ(nb.metadata.ns, "default");
}

TEST(NotebookSpec, ReadsEveryField) {
  auto parsed = parse_manifest(notebook(R"(  template:
    command: [my-lab, --flag]
    args: [x]
    env: {A: b}
    workingDir: projects
    resources: {cpu: 2, memory: 4Gi, gpu: 1}
  workspace: {path: /data/alice}
  idleCullingMinutes: 45
  stopped: true
)"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const auto& nb = *parsed->notebook;
  EXPECT_FALSE(nb.default_command);
  EXPECT_EQ(nb.replica.command, (std::vector<std::string>{"my-lab", "--flag"}));
  EXPECT_EQ(nb.replica.resources.gpus, 1);
  EXPECT_EQ(nb.replica.resources.cpu_millis, 2000);
  EXPECT_EQ(nb.replica.working_dir, "projects");
  EXPECT_EQ(nb.workspace_path, "/data/alice");
  EXPECT_EQ(nb.idle_culling_minutes, 45);
  EXPECT_TRUE(nb.stopped);
}

TEST(NotebookSpec, RefusesWhatItCannotHonourWithTheFieldPath) {
  EXPECT_EQ(error_of(notebook("  workspace: {size: 10Gi}\n"))
                .rfind("spec.workspace.size: not supported", 0),
            0u);
  EXPECT_EQ(error_of(notebook("  workspace: {path: ../etc}\n")),
            "spec.workspace.path: '../etc' is not an absolute, normalised path");
  EXPECT_EQ(error_of(notebook("  workspace: {path: /data/../etc}\n")),
            "spec.workspace.path: '/data/../etc' is not an absolute, normalised path");
  EXPECT_EQ(error_of(notebook("  workspace: {path: /}\n")),
            "spec.workspace.path: '/' is not a workspace");
  EXPECT_EQ(error_of(notebook("  idleCullingMinutes: 0\n")),
            "spec.idleCullingMinutes: must be >= 1");
  EXPECT_EQ(error_of(notebook("  stopped: maybe\n")).rfind("spec.stopped:", 0), 0u);
  EXPECT_EQ(error_of(notebook("  template: {command: []}\n")), "spec.template.command: empty");
  EXPECT_EQ(error_of(notebook("  templat: {}\n")), "spec.templat: unknown field");
  EXPECT_EQ(error_of(notebook("  template: {resources: {gpu: -1}}\n")),
            "spec.template.resources.gpu: must be >= 0");
  EXPECT_EQ(error_of("apiVersion: cadre/v1\nkind: Notebook\nmetadata: {name: alice}\n"),
            "spec: required");
}

TEST(NotebookSpec, HostileInputIsAnErrorNotACrash) {
  const std::string long_name(49, 'a');
  EXPECT_EQ(error_of("apiVersion: cadre/v1\nkind: Notebook\nmetadata: {name: " + long_name +
                     "}\nspec: {}\n")
                .rfind("metadata.name: a notebook's name is at most 48 characters", 0),
            0u);
  EXPECT_NE(error_of(notebook("  template: [1, 2]\n")), "");
  EXPECT_NE(error_of(notebook("  workspace: {path: [a]}\n")), "");
  EXPECT_NE(error_of(notebook("  idleCullingMinutes: 99999999999999999999\n")), "");
  EXPECT_NE(error_of(notebook("  template: {env: [{name: \"A=B\", value: x}]}\n")), "");
  std::string deep = "  template: {args: [";
  for (int i = 0; i < 200; ++i) deep += "[";
  EXPECT_NE(error_of(notebook(deep + "\n")), "");
}

}  // namespace
}  // namespace cadre::spec::notebook_spec_test

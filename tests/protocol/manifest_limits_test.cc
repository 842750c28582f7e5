// Manifests built to hurt: alias bombs, deep nesting, duplicate keys, extra
// documents, huge values and hostile environment entries. Each is refused at once
// with the field path, and no error echoes a huge value back.
#include "protocol/spec/manifest.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/hostile_yaml.h"
#include "tests/support/status_matchers.h"

namespace cadre::spec::manifest_limits_test {
namespace {

using namespace std::chrono_literals;

std::string job_with(const std::string& extra_spec, const std::string& name = "hello") {
  return "apiVersion: cadre/v1\nkind: Job\nmetadata:\n  name: " + name +
         "\nspec:\n  template:\n    command: [\"true\"]\n" + extra_spec;
}

std::string error_of(const std::string& manifest, const ManifestLimits& limits = {}) {
  auto parsed = parse_manifest(manifest, limits);
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(ManifestLimits, AliasBombIsRefusedAtOnceNamingTheLimit) {
  const std::string bomb = cadre::testing::alias_bomb_manifest();
  ASSERT_LT(bomb.size(), 2000u);
  const auto started = std::chrono::steady_clock::now();
  const std::string error = error_of(bomb);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_NE(error.find("YAML nodes (aliases count each time they are used)"), std::string::npos)
      << error;
}

TEST(ManifestLimits, ManifestOverTheSizeLimitIsRefusedBeforeItIsParsed) {
  ManifestLimits limits;
  limits.max_bytes = 4096;
  const std::string big = job_with("    args: [\"" + std::string(5000, 'x') + "\"]\n");
  EXPECT_NE(error_of(big, limits).find("the limit is 4096"), std::string::npos);
  // Not even valid YAML: the size is checked first.
  EXPECT_NE(error_of(std::string(5000, '['), limits).find("the limit is 4096"), std::string::npos);
}

TEST(ManifestLimits, ExpandedTextPastTheLimitIsRefusedWithItsPath) {
  ManifestLimits limits;
  limits.max_expanded_bytes = 10000;
  const std::string manifest =
      "apiVersion: cadre/v1\nkind: Job\nmetadata: {name: big}\nblob: &b \"" +
      std::string(3000, 'y') + "\"\nspec:\n  template:\n    command: [\"true\"]\n" +
      "    args: [*b, *b, *b, *b]\n";
  const std::string error = error_of(manifest, limits);
  EXPECT_NE(error.find("spec.template.args[2]: more than 10000 bytes"), std::string::npos) << error;
}

TEST(ManifestLimits, NestingPastTheLimitIsRefused) {
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_NE(error_of(job_with("    args: " + deep + "\n")).find("nested deeper than 64"),
            std::string::npos);
}

TEST(ManifestLimits, DuplicateKeyIsRefusedWithItsPath) {
  const std::string twice = job_with("    command: [\"false\"]\n");
  EXPECT_EQ(error_of(twice), "spec.template.command: duplicate key");
}

TEST(ManifestLimits, SecondDocumentIsRefusedNotIgnored) {
  const std::string two = job_with("") + "---\n" + job_with("", "other");
  EXPECT_NE(error_of(two).find("manifest has 2 YAML documents"), std::string::npos);
}

TEST(ManifestLimits, ManyDocumentsAreRefusedBeforeAnyIsParsed) {
  std::string many = job_with("");
  for (int i = 0; i < 100000; ++i) many += "---\n";
  EXPECT_NE(error_of(many).find("at least 3 YAML documents"), std::string::npos);
  // A leading marker and an empty trailing document are no documents.
  EXPECT_EQ(error_of("---\n" + job_with("") + "---\n"), "");
}

// Found by the pipeline_spec_fuzzer: yaml-cpp's LoadAll never returns on this
// input (a NUL byte after flow indicators), yielding empty documents until memory
// runs out. Manifests are never read with LoadAll.
TEST(ManifestLimits, ANulByteAfterFlowIndicatorsIsAnErrorNotAnEndlessRead) {
  const std::string hostile(",*/7 +-10/6 0,!=12 ? jan-mar,d,!=\001\000\000.7", 38);
  EXPECT_NE(error_of(hostile), "");
}

TEST(ManifestLimits, HugeValuesAreQuotedShortInErrors) {
  const std::string name(10 << 20, 'A');
  ManifestLimits limits;
  limits.max_bytes = 11 << 20;
  limits.max_expanded_bytes = 11 << 20;
  const std::string error = error_of(job_with("", name), limits);
  EXPECT_NE(error.find("metadata.name: 'AAAA"), std::string::npos);
  EXPECT_NE(error.find("(10485760 bytes) must be a DNS label"), std::string::npos) << error;
  EXPECT_LT(error.size(), 400u);
  // A long key needs YAML's explicit form ("? key"); plain keys stop at 1024 characters.
  const std::string key_error = error_of(job_with("    ? " + name + "\n    : 1\n"), limits);
  EXPECT_NE(key_error.find("spec.template.AAAA"), std::string::npos) << key_error.substr(0, 200);
  EXPECT_NE(key_error.find("...: unknown field"), std::string::npos) << key_error.substr(0, 200);
  EXPECT_LT(key_error.size(), 400u);
}

TEST(ManifestLimits, AKeyThatIsAListOrAMapIsRefusedWithWhereItIs) {
  EXPECT_EQ(error_of(job_with("    env:\n      ? [A, B]\n      : x\n")),
            "spec.template.env: a key must be text, not a list or a map");
  EXPECT_EQ(error_of(job_with("    ? {a: 1}\n    : x\n")),
            "spec.template: a key must be text, not a list or a map");
  // A KFP spec whose output parameter is named by a map (the fuzzer's find).
  const std::string pipeline =
      "pipelineInfo: {name: p}\nschemaVersion: 2.1.0\nroot:\n  dag:\n    tasks: {}\n"
      "components:\n  comp-a:\n    outputDefinitions:\n      parameters:\n"
      "        ? Output:\n            parameterType: NUMBER_INTEGER\n";
  EXPECT_EQ(error_of(pipeline),
            "components.comp-a.outputDefinitions.parameters: a key must be text, not a list or "
            "a map");
}

TEST(ManifestLimits, EnvironmentEntriesMustBeNamesAndValuesWithoutNul) {
  EXPECT_OK(parse_manifest(job_with("    env: {A_1: x, _B: \"\"}\n")));
  EXPECT_EQ(error_of(job_with("    env: [{name: \"A=B\", value: x}]\n")),
            "spec.template.env[0].name: 'A=B' is not a variable name (letters, digits and '_', "
            "not starting with a digit)");
  EXPECT_NE(error_of(job_with("    env: {\"1A\": x}\n")).find("spec.template.env.1A: '1A'"),
            std::string::npos);
  EXPECT_NE(error_of(job_with("    env: [{name: \"\", value: x}]\n"))
                .find("spec.template.env[0].name: required"),
            std::string::npos);
  EXPECT_NE(error_of(job_with("    env: [{name: A, value: \"x\\0y\"}]\n")).find("NUL byte"),
            std::string::npos);
}

}  // namespace
}  // namespace cadre::spec::manifest_limits_test

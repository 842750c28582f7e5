#include "serving/model_config.h"

#include <gtest/gtest.h>

namespace cadre::serving {
namespace {

constexpr char kTritonConfig[] = R"(
name: "fmnist"
backend: "cadre"
max_batch_size: 64
input [ { name: "input" data_type: TYPE_FP32 dims: [ 1, 28, 28 ] } ]
output [ { name: "logits" data_type: TYPE_FP32 dims: [ 10 ] } ]
dynamic_batching {
  preferred_batch_size: [ 16, 32 ]
  max_queue_delay_microseconds: 500
  preserve_ordering: true
  default_queue_policy { timeout_action: REJECT default_timeout_microseconds: 100000
                         allow_timeout_override: true max_queue_size: 128 }
}
instance_group [ { count: 2 kind: KIND_CPU } ]
version_policy: { specific: { versions: [ 1, 3 ] } }
)";

TEST(ModelConfig, ParsesATritonConfigWithEveryFieldCadreSupports) {
  auto c = parse_model_config(kTritonConfig, "config.pbtxt");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->max_batch_size(), 64);
  EXPECT_EQ(c->input(0).dims_size(), 3);
  EXPECT_EQ(c->dynamic_batching().preferred_batch_size(1), 32);
  EXPECT_EQ(c->dynamic_batching().default_queue_policy().max_queue_size(), 128u);
  EXPECT_EQ(c->instance_group(0).count(), 2);
  EXPECT_TRUE(validate_model_config(*c).ok());
}

TEST(ModelConfig, RefusesAFieldItDoesNotImplementByName) {
  auto c = parse_model_config("name: \"m\"\nsequence_batching { }\n", "m/config.pbtxt");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("m/config.pbtxt:2:"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("'sequence_batching' is not supported"), std::string::npos)
      << c.status().message();
}

TEST(ModelConfig, ReportsSyntaxErrorsWithLineAndColumn) {
  auto c = parse_model_config("max_batch_size: \"many\"", "config.pbtxt");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("config.pbtxt:1:"), std::string::npos);
}

TEST(ModelConfig, DefaultsAreTritons) {
  ModelConfig c;
  apply_config_defaults("fmnist", &c);
  EXPECT_EQ(c.name(), "fmnist");
  ASSERT_EQ(c.instance_group_size(), 1);
  EXPECT_EQ(c.instance_group(0).count(), 1);
  EXPECT_EQ(c.version_policy().latest().num_versions(), 1u);
  ModelConfig torch;
  torch.set_platform("pytorch_libtorch");
  apply_config_defaults("t", &torch);
  EXPECT_EQ(torch.backend(), "pytorch");
}

Status validate_text(const std::string& text) {
  auto c = parse_model_config(text, "config.pbtxt");
  if (!c.ok()) return c.status();
  apply_config_defaults("m", &*c);
  return validate_model_config(*c);
}

TEST(ModelConfig, ValidationNamesTheFieldThatIsWrong) {
  const std::string io =
      "input [{name: \"x\" data_type: TYPE_FP32 dims: [4]}] "
      "output [{name: \"y\" data_type: TYPE_FP32 dims: [2]}] ";
  struct Case {
    std::string text, field;
  } cases[] = {
      {"backend: \"onnxruntime\" " + io, "backend: 'onnxruntime'"},
      {"backend: \"cadre\" max_batch_size: -1 " + io, "max_batch_size"},
      {"backend: \"cadre\" input [{name: \"x\" data_type: TYPE_FP32 dims: [0]}] "
       "output [{name: \"y\" data_type: TYPE_FP32 dims: [2]}]",
       "input[0].dims[0]"},
      {"backend: \"cadre\" input [{name: \"x\" dims: [1]}] "
       "output [{name: \"y\" data_type: TYPE_FP32 dims: [2]}]",
       "input[0].data_type"},
      {"backend: \"cadre\" input [{name: \"x\" data_type: TYPE_FP32 dims: [1]}, "
       "{name: \"x\" data_type: TYPE_FP32 dims: [1]}] "
       "output [{name: \"y\" data_type: TYPE_FP32 dims: [2]}]",
       "input[1].name"},
      {"backend: \"cadre\" " + io + "dynamic_batching {}",
       "dynamic_batching: needs max_batch_size"},
      {"backend: \"cadre\" max_batch_size: 8 " + io + "dynamic_batching {preferred_batch_size: 9}",
       "dynamic_batching.preferred_batch_size[0]"},
      {"backend: \"cadre\" " + io + "instance_group [{count: 100}]", "instance_group[0].count"},
      {"backend: \"cadre\" " + io + "instance_group [{kind: KIND_CPU gpus: [0]}]",
       "instance_group[0].gpus"},
      {"backend: \"cadre\" " + io + "version_policy {latest {num_versions: 0}}",
       "version_policy.latest.num_versions"},
      {"backend: \"cadre\" " + io + "version_policy {specific {versions: [0]}}",
       "version_policy.specific.versions"},
  };
  for (const auto& c : cases) {
    const Status s = validate_text(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s.message() << " / " << c.field;
  }
}

TEST(ModelConfig, VersionPolicySelectsLatestAllOrSpecific) {
  ModelConfig c;
  apply_config_defaults("m", &c);
  EXPECT_EQ(versions_to_serve(c, {3, 1, 2}), (std::vector<int64_t>{3}));
  c.mutable_version_policy()->mutable_latest()->set_num_versions(2);
  EXPECT_EQ(versions_to_serve(c, {3, 1, 2}), (std::vector<int64_t>{2, 3}));
  c.mutable_version_policy()->mutable_all();
  EXPECT_EQ(versions_to_serve(c, {3, 1, 2}), (std::vector<int64_t>{1, 2, 3}));
  c.mutable_version_policy()->mutable_specific()->add_versions(2);
  c.mutable_version_policy()->mutable_specific()->add_versions(7);
  EXPECT_EQ(versions_to_serve(c, {3, 1, 2}), (std::vector<int64_t>{2}));
}

TEST(InferTensor, ElementCountRefusesNegativeAndOverflowingShapes) {
  EXPECT_EQ(element_count({2, 3}, 100, "x").value(), 6);
  EXPECT_EQ(element_count({0, 5}, 100, "x").value(), 0);
  EXPECT_FALSE(element_count({2, -1}, 100, "x").ok());
  EXPECT_FALSE(element_count({1ll << 40, 1ll << 40}, 1ll << 62, "x").ok());
  EXPECT_FALSE(element_count({11, 10}, 100, "x").ok());
}

TEST(InferTensor, BytesElementsRoundTripAndTruncationIsAnError) {
  std::string data;
  append_bytes_element(&data, "Sandal");
  append_bytes_element(&data, "");
  auto e = split_bytes_elements(data);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0], "Sandal");
  EXPECT_FALSE(count_bytes_elements(data.substr(0, 5)).ok());
  EXPECT_FALSE(count_bytes_elements(std::string("\xff\xff\xff\x7f", 4)).ok());
}

}  // namespace
}  // namespace cadre::serving

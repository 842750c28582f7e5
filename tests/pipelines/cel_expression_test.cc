#include "pipelines/cel_expression.h"

#include <gtest/gtest.h>

namespace cadre::pipelines {
namespace {

using nlohmann::json;

json inputs(json values) { return json{{"inputs", {{"parameter_values", values}}}}; }

bool holds(const std::string& text, const json& bindings) {
  auto e = CelExpression::Parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().to_string();
  auto v = e->evaluate_condition(bindings);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status().to_string();
  return v.ok() && *v;
}

TEST(CelExpression, EvaluatesTheConditionsTheKfpCompilerWrites) {
  const json b = inputs({{"pipelinechannel--flip-coin-op-Output", "heads"},
                         {"pipelinechannel--get-random-int-op-Output", "7"},
                         {"pipelinechannel--acc", 0.91},
                         {"pipelinechannel--ok", true}});
  EXPECT_TRUE(
      holds("inputs.parameter_values['pipelinechannel--flip-coin-op-Output'] == 'heads'", b));
  EXPECT_FALSE(
      holds("!(inputs.parameter_values['pipelinechannel--flip-coin-op-Output'] == 'heads')", b));
  EXPECT_TRUE(
      holds("int(inputs.parameter_values['pipelinechannel--get-random-int-op-Output']) > 5", b));
  EXPECT_TRUE(
      holds("inputs.parameter_values['pipelinechannel--acc'] >= 0.88 && "
            "inputs.parameter_values['pipelinechannel--ok'] == true",
            b));
  EXPECT_TRUE(holds("inputs.parameter_values['pipelinechannel--acc'] < 0.5 || 1 == 1.0", b));
}

TEST(CelExpression, SelectsFromJsonAsParameterExpressionSelectorsDo) {
  auto e = CelExpression::Parse("parseJson(string_value)[\"a\"]");
  ASSERT_TRUE(e.ok());
  auto v = e->evaluate(json{{"string_value", "{\"a\": 10, \"b\": 20}"}});
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(*v, json(10));
  auto index = CelExpression::Parse("parseJson(string_value)[1]");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(*index->evaluate(json{{"string_value", "[\"x\", \"y\"]"}}), json("y"));
}

TEST(CelExpression, ReportsTheParametersItReads) {
  auto e = CelExpression::Parse("inputs.parameter_values['a'] == inputs.parameter_values[\"b\"]");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->parameter_refs(), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(e->identifiers(), (std::set<std::string>{"inputs"}));
}

TEST(CelExpression, RefusesWhatIsOutsideTheSubsetWithTheColumn) {
  for (const char* bad :
       {"a ? b : c", "size(x) in [1]", "has(inputs.x)", "x == ", "(a == b", "'unterminated",
        "a < b < c", "f(x)", "x @ y", "x[0", "1 +", "int(1, 2)"}) {
    auto e = CelExpression::Parse(bad);
    EXPECT_FALSE(e.ok()) << bad;
    if (!e.ok()) {
      EXPECT_NE(e.status().message().find("column"), std::string::npos) << bad;
    }
  }
  EXPECT_FALSE(CelExpression::Parse(std::string(5000, '1')).ok());
  EXPECT_FALSE(CelExpression::Parse(std::string(100, '(') + "1" + std::string(100, ')')).ok());
  EXPECT_FALSE(CelExpression::Parse(std::string(100, '!') + "true").ok());
}

TEST(CelExpression, EvaluationErrorsNameTheValueInsteadOfGuessing) {
  auto missing = CelExpression::Parse("inputs.parameter_values['nope'] == 'x'");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->evaluate(inputs(json::object())).ok());
  auto mixed = CelExpression::Parse("'a' < 1");
  ASSERT_TRUE(mixed.ok());
  auto r = mixed->evaluate(json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot compare string"), std::string::npos);
  auto conversion = CelExpression::Parse("int('seven') > 1");
  ASSERT_TRUE(conversion.ok());
  EXPECT_FALSE(conversion->evaluate(json::object()).ok());
  auto not_bool = CelExpression::Parse("1 + 1");
  ASSERT_TRUE(not_bool.ok());
  EXPECT_FALSE(not_bool->evaluate_condition(json::object()).ok());
}

TEST(CelExpression, ShortCircuitsAsCelDoes) {
  // The right side would fail (no such key); the left decides.
  const json b = inputs({{"x", 1}});
  EXPECT_FALSE(holds("inputs.parameter_values['x'] == 2 && inputs.parameter_values['y'] == 1", b));
  EXPECT_TRUE(holds("inputs.parameter_values['x'] == 1 || inputs.parameter_values['y'] == 1", b));
}

}  // namespace
}  // namespace cadre::pipelines

// The subset of CEL (Common Expression Language, github.com/google/cel-spec) that
// the KFP v2 compiler writes into a pipeline spec: trigger conditions such as
//   int(inputs.parameter_values['pipelinechannel--flip-Output']) > 5 && !(x == 'a')
// and parameter expression selectors such as parseJson(string_value)["a"].
//
// Supported: string, integer, double, bool and null literals; the identifiers the
// caller binds ("inputs", "string_value"); indexing with [ ] and field access with
// '.'; the functions int, double, string, bool, size and parseJson; unary ! and -;
// == != < <= > >=, &&, ||, + (numbers and strings) and parentheses. Anything else
// is refused when the spec is applied, with the column it starts at. Values are
// JSON values; integers and doubles compare as numbers, as CEL's heterogeneous
// equality does.
#pragma once

#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/status.h"

namespace cadre::pipelines {

// Bounds on an expression from a spec, checked while it is parsed.
inline constexpr size_t kMaxCelBytes = 4096;
inline constexpr int kMaxCelDepth = 32;

class CelExpression {
 public:
  // Errors say what was wrong and where: "column 12: expected ')'".
  static Result<CelExpression> Parse(const std::string& text);

  // Evaluates with `bindings` (a JSON object) giving the value of each identifier.
  // A missing key, a wrong type or a bad conversion is an error, never a guess.
  Result<nlohmann::json> evaluate(const nlohmann::json& bindings) const;
  // The same, for a trigger condition: the result must be a bool.
  Result<bool> evaluate_condition(const nlohmann::json& bindings) const;

  // Every name the expression reads as inputs.parameter_values['NAME'] (checked
  // against the task's inputs when the spec is applied).
  const std::set<std::string>& parameter_refs() const { return parameter_refs_; }
  // The identifiers it reads at the top level ("inputs", "string_value").
  const std::set<std::string>& identifiers() const { return identifiers_; }
  const std::string& text() const { return text_; }

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
  std::set<std::string> parameter_refs_;
  std::set<std::string> identifiers_;
};

}  // namespace cadre::pipelines

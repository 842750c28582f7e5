// The parameters an experiment searches (Katib's `parameters`): their types,
// feasible spaces and prior distributions, and one point of that space.
// Numeric values are kept as doubles; discrete and categorical values as the
// index of their entry in `list`, so every algorithm works on numbers.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::tuning {

enum class ParameterType { kDouble, kInt, kDiscrete, kCategorical };
enum class Distribution { kUniform, kLogUniform, kNormal, kLogNormal };

struct ParameterSpec {
  std::string name;
  ParameterType type = ParameterType::kDouble;
  double min = 0, max = 0;        // kDouble, kInt
  double step = 0;                // 0: continuous (kDouble) or 1 (kInt)
  std::vector<std::string> list;  // kDiscrete (numbers as text), kCategorical
  Distribution distribution = Distribution::kUniform;

  bool numeric() const { return type == ParameterType::kDouble || type == ParameterType::kInt; }
  // Entries for list types; grid points for stepped numeric ones; 0 when continuous.
  int64_t choices() const;
};

struct SearchSpace {
  std::vector<ParameterSpec> parameters;
  // Checks every parameter; errors carry the field path
  // (`spec.parameters[1].feasibleSpace.min: must be < max`).
  Status validate() const;
  int index_of(const std::string& name) const;  // -1 if absent
};

// One point: values[i] belongs to parameters[i].
using Assignment = std::vector<double>;

// The value as a trial sees it: "0.0031", "64", "adam".
std::string format_value(const ParameterSpec& spec, double value);

// A draw from the parameter's prior (its distribution over its feasible space),
// snapped to its step or list.
double sample_prior(const ParameterSpec& spec, std::mt19937_64& rng);

// Moves a value onto the parameter's grid: step multiples from min, integers,
// list indices; clamps into the feasible space.
double snap(const ParameterSpec& spec, double value);

// The deterministic generator for the n-th decision of an experiment with this
// random_state: the same history gives the same suggestions after a restart.
std::mt19937_64 decision_rng(uint64_t random_state, uint64_t decision);

}  // namespace cadre::tuning

#include "tuning/search_space.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace cadre::tuning {
namespace {

std::string path(size_t i, const std::string& field) {
  return "spec.parameters[" + std::to_string(i) + "]." + field;
}

}  // namespace

int64_t ParameterSpec::choices() const {
  switch (type) {
    case ParameterType::kDiscrete:
    case ParameterType::kCategorical:
      return static_cast<int64_t>(list.size());
    case ParameterType::kInt: {
      const double s = step > 0 ? step : 1;
      return static_cast<int64_t>(std::floor((max - min) / s + 1e-9)) + 1;
    }
    case ParameterType::kDouble:
      return step > 0 ? static_cast<int64_t>(std::floor((max - min) / step + 1e-9)) + 1 : 0;
  }
  return 0;
}

Status SearchSpace::validate() const {
  if (parameters.empty()) return InvalidArgument("spec.parameters: must not be empty");
  std::set<std::string> names;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& p = parameters[i];
    if (p.name.empty()) return InvalidArgument(path(i, "name") + ": must not be empty");
    if (!names.insert(p.name).second)
      return InvalidArgument(path(i, "name") + ": '" + p.name + "' is declared twice");
    if (p.numeric()) {
      if (!std::isfinite(p.min) || !std::isfinite(p.max))
        return InvalidArgument(path(i, "feasibleSpace") + ": min and max must be finite numbers");
      // An int may be one value (Katib allows it, its Hyperband example has 1..1).
      if (p.min > p.max || (p.min == p.max && p.type != ParameterType::kInt))
        return InvalidArgument(path(i, "feasibleSpace.min") + ": must be < max (" +
                               format_value(p, p.min) + " >= " + format_value(p, p.max) + ")");
      if (p.step < 0 || (p.step > 0 && p.min < p.max && p.step > p.max - p.min))
        return InvalidArgument(path(i, "feasibleSpace.step") + ": must be in (0, max - min]");
      if (p.type == ParameterType::kInt &&
          (p.min != std::floor(p.min) || p.max != std::floor(p.max) ||
           (p.step > 0 && p.step != std::floor(p.step))))
        return InvalidArgument(path(i, "feasibleSpace") +
                               ": an int parameter has integer min, "
                               "max and step");
      const bool log =
          p.distribution == Distribution::kLogUniform || p.distribution == Distribution::kLogNormal;
      if (log && p.min <= 0)
        return InvalidArgument(path(i, "feasibleSpace.min") + ": a log distribution needs min > 0");
    } else {
      if (p.list.empty())
        return InvalidArgument(path(i, "feasibleSpace.list") + ": must not be empty");
      std::set<std::string> seen;
      for (size_t k = 0; k < p.list.size(); ++k)
        if (!seen.insert(p.list[k]).second)
          return InvalidArgument(path(i, "feasibleSpace.list[" + std::to_string(k) + "]") + ": '" +
                                 p.list[k] + "' appears twice");
      if (p.type == ParameterType::kDiscrete)
        for (size_t k = 0; k < p.list.size(); ++k) {
          char* end = nullptr;
          std::strtod(p.list[k].c_str(), &end);
          if (p.list[k].empty() || *end != '\0')
            return InvalidArgument(path(i, "feasibleSpace.list[" + std::to_string(k) + "]") +
                                   ": '" + p.list[k] + "' is not a number (discrete values are)");
        }
    }
  }
  return Status::Ok();
}

int SearchSpace::index_of(const std::string& name) const {
  for (size_t i = 0; i < parameters.size(); ++i)
    if (parameters[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string format_value(const ParameterSpec& spec, double value) {
  if (!spec.numeric()) {
    const auto i = static_cast<size_t>(std::max(0.0, value));
    return i < spec.list.size() ? spec.list[i] : "";
  }
  if (spec.type == ParameterType::kInt) return std::to_string(static_cast<int64_t>(value));
  std::ostringstream out;
  out.precision(6);
  out << value;
  return out.str();
}

double snap(const ParameterSpec& spec, double value) {
  if (!spec.numeric()) {
    const double last = static_cast<double>(spec.list.size()) - 1;
    return std::clamp(std::round(value), 0.0, last);
  }
  double v = std::clamp(value, spec.min, spec.max);
  const double step = spec.step > 0 ? spec.step : (spec.type == ParameterType::kInt ? 1 : 0);
  if (step > 0) {
    v = spec.min + std::round((v - spec.min) / step) * step;
    if (v > spec.max + 1e-12) v -= step;
  }
  return v;
}

double sample_prior(const ParameterSpec& spec, std::mt19937_64& rng) {
  if (!spec.numeric()) {
    std::uniform_int_distribution<int64_t> pick(0, static_cast<int64_t>(spec.list.size()) - 1);
    return static_cast<double>(pick(rng));
  }
  // Integers are drawn over [min - 0.5, max + 0.5] so the ends are as likely as
  // the middle after rounding.
  const double widen = spec.type == ParameterType::kInt && spec.step == 0 ? 0.5 : 0;
  const double lo = spec.min - widen, hi = spec.max + widen;
  double v = 0;
  switch (spec.distribution) {
    case Distribution::kUniform:
      v = std::uniform_real_distribution<double>(lo, hi)(rng);
      break;
    case Distribution::kLogUniform:
      v = std::exp(std::uniform_real_distribution<double>(std::log(std::max(lo, spec.min)),
                                                          std::log(hi))(rng));
      break;
    case Distribution::kNormal:
      // Katib: mean at the centre, the feasible space spanning about six sigma.
      v = std::normal_distribution<double>((lo + hi) / 2, (hi - lo) / 6)(rng);
      break;
    case Distribution::kLogNormal: {
      const double a = std::log(spec.min), b = std::log(hi);
      v = std::exp(std::normal_distribution<double>((a + b) / 2, (b - a) / 6)(rng));
      break;
    }
  }
  return snap(spec, v);
}

std::mt19937_64 decision_rng(uint64_t random_state, uint64_t decision) {
  std::seed_seq seq{static_cast<uint32_t>(random_state), static_cast<uint32_t>(random_state >> 32),
                    static_cast<uint32_t>(decision), static_cast<uint32_t>(decision >> 32)};
  return std::mt19937_64(seq);
}

}  // namespace cadre::tuning

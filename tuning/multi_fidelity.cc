#include "tuning/multi_fidelity.h"

namespace cadre::tuning {

std::optional<double> result_at(const TrialHistory& history, const TrialRecord& t,
                                int64_t resource) {
  if (t.state == TrialState::kFailed) return std::nullopt;
  std::optional<double> v = value_at(t, resource);
  if (!v && t.curve.empty() && t.resource == resource) v = t.objective;
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return history.loss(*v);
}

}  // namespace cadre::tuning

#include "tuning/trial_history.h"

namespace cadre::tuning {

const TrialRecord* TrialHistory::find(int64_t id) const {
  for (const auto& t : trials)
    if (t.id == id) return &t;
  return nullptr;
}

std::optional<double> value_at(const TrialRecord& trial, int64_t step) {
  auto it = trial.curve.upper_bound(step);
  if (it == trial.curve.begin()) return std::nullopt;
  return std::prev(it)->second;
}

}  // namespace cadre::tuning

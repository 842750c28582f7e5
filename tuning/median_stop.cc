#include "tuning/median_stop.h"

#include <algorithm>
#include <cmath>

#include "tuning/settings.h"

namespace cadre::tuning {

Result<MedianStopOptions> median_stop_options(const Settings& settings) {
  const std::string path = "spec.earlyStopping.algorithmSettings";
  RETURN_IF_ERROR(check_known(settings, {"min_trials_required", "start_step"}, path));
  MedianStopOptions o;
  ASSIGN_OR_RETURN(o.min_trials_required,
                   int_setting(settings, "min_trials_required", o.min_trials_required, 1, path));
  ASSIGN_OR_RETURN(const int64_t start, int_setting(settings, "start_step", 4, 0, path));
  o.start_step = start;
  return o;
}

bool should_stop(const TrialHistory& history, const TrialRecord& trial,
                 const MedianStopOptions& options) {
  if (trial.curve.empty()) return false;
  const int64_t step = trial.curve.rbegin()->first;
  if (step < options.start_step) return false;
  std::vector<double> averages;
  for (const auto& other : history.trials) {
    if (other.id == trial.id || other.curve.find(step) == other.curve.end()) continue;
    double sum = 0;
    int n = 0;
    for (const auto& [s, v] : other.curve) {
      if (s > step) break;
      if (std::isfinite(v)) {
        sum += history.loss(v);
        ++n;
      }
    }
    if (n > 0) averages.push_back(sum / n);
  }
  if (static_cast<int>(averages.size()) < options.min_trials_required) return false;
  std::sort(averages.begin(), averages.end());
  const size_t m = averages.size();
  const double median = m % 2 ? averages[m / 2] : (averages[m / 2 - 1] + averages[m / 2]) / 2;
  double best = INFINITY;
  for (const auto& [s, v] : trial.curve)
    if (s <= step && std::isfinite(v)) best = std::min(best, history.loss(v));
  return best > median;
}

}  // namespace cadre::tuning

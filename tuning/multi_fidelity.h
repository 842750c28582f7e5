// Settings shared by the budgeted algorithms (Hyperband, ASHA): which parameter
// is the budget, the reduction factor, and the budget range.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

#include "tuning/tpe_sampler.h"
#include "tuning/trial_history.h"

namespace cadre::tuning {

struct MultiFidelityOptions {
  int resource_index = -1;  // the parameter that is the budget
  double eta = 3;
  int64_t min_resource = 1;
  int64_t max_resource = 1;
  uint64_t seed = 0;
  bool tpe = false;  // ASHA's base sampler
  // ASHA ("promotion: eager"): a rung with fewer than η results still promotes
  // its best (Optuna's SuccessiveHalvingPruner and Ray Tune's ASHA do), so the
  // first configurations reach the top rung without waiting for the bottom rung
  // to fill; false (the default, "strict"): only the top ⌊n/η⌋, as Li et al.
  // write it. bench/RESULTS.md compares them.
  bool eager_promotion = false;
  TpeOptions tpe_options;
};

// A trial's loss at a budget: what it reported at that step (or the last step
// before), or its final objective if it ran exactly that budget without a curve;
// nothing for failed trials or values that are not finite.
std::optional<double> result_at(const TrialHistory& history, const TrialRecord& trial,
                                int64_t resource);

}  // namespace cadre::tuning

// Median stopping (Golovin et al. 2017, Google Vizier), as documented: at each
// step s >= start_step a trial reports, once at least min_trials_required other
// trials have reported step s, the trial stops if its best value so far is worse
// than the median of the other trials' running averages up to step s.
//
// Katib's medianstop compares once, against a median fixed when the trial was
// created; this rule looks again at every step, against the trials as they are.
#pragma once

#include <cstdint>

#include "protocol/status.h"
#include "tuning/suggester.h"
#include "tuning/trial_history.h"

namespace cadre::tuning {

struct MedianStopOptions {
  int min_trials_required = 3;
  int64_t start_step = 4;
};

// From Katib's earlyStopping settings (min_trials_required, start_step).
Result<MedianStopOptions> median_stop_options(const Settings& settings);

// Whether `trial` (running, in `history`) should stop now, at its latest step.
bool should_stop(const TrialHistory& history, const TrialRecord& trial,
                 const MedianStopOptions& options);

}  // namespace cadre::tuning

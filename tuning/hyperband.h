// Hyperband (Li et al. 2017): brackets s = s_max..0, each a successive halving
// that starts n_s configurations at R·η^-s and keeps the best 1/η at every rung;
// every bracket runs (not only the first), then the schedule starts over. A
// promotion continues the same trial (its checkpoints) with the larger budget.
#pragma once

#include "tuning/multi_fidelity.h"
#include "tuning/suggester.h"

namespace cadre::tuning {

class Hyperband : public Suggester {
 public:
  Hyperband(SearchSpace space, MultiFidelityOptions options);
  Result<Next> next(const TrialHistory& history) override;
  int brackets() const { return s_max_ + 1; }

 private:
  SearchSpace space_;
  MultiFidelityOptions options_;
  int s_max_ = 0;
};

}  // namespace cadre::tuning

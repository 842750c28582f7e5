// The Tree-structured Parzen Estimator (Bergstra et al. 2011) as Optuna's
// TPESampler defines it: n_startup_trials random, then the best ceil(gamma·n)
// (at most 25) observations form l(x) and the rest g(x), each a Parzen estimator
// with a prior component (weight prior_weight) and magic-clipped bandwidths;
// n_EI_candidates draws from l(x), the one maximising l(x)/g(x) wins.
// Univariate (each parameter alone) or multivariate (one kernel per observation
// across all parameters). Running trials count as the worst result (constant
// liar), so parallel proposals spread out.
#pragma once

#include <utility>
#include <vector>

#include "tuning/suggester.h"

namespace cadre::tuning {

struct TpeOptions {
  uint64_t seed = 0;
  int n_startup_trials = 10;
  int n_ei_candidates = 24;
  double gamma = 0.1;  // the best ceil(gamma·n) (at most 25) trials form l(x)
  double prior_weight = 1.0;
  bool multivariate = false;
};

class TpeSampler : public Suggester {
 public:
  TpeSampler(SearchSpace space, TpeOptions options) : space_(std::move(space)), options_(options) {}
  Result<Next> next(const TrialHistory& history) override;
  // A point for the trials given (used by ASHA as its base sampler, with the
  // trials' values at a rung instead of final objectives). `skip` is a
  // parameter index left at 0 (the resource), or -1.
  Assignment sample(const std::vector<std::pair<Assignment, double>>& observed,
                    const std::vector<Assignment>& running, uint64_t decision, int skip) const;

 private:
  SearchSpace space_;
  TpeOptions options_;
};

}  // namespace cadre::tuning

// Asynchronous successive halving (Li et al. 2018): rungs at min_resource·η^k up
// to max_resource. When a slot frees, the highest rung with a trial in the top
// 1/η of that rung's results, not yet promoted, promotes it (the same trial
// continues from its checkpoint to the next rung's budget); otherwise a new
// configuration starts at rung 0, drawn by the base sampler (random or TPE).
// With eager promotion ("promotion: eager") a rung of fewer than η results
// promotes its best one, as Optuna's pruner and Ray Tune's ASHA do.
#pragma once

#include <vector>

#include "tuning/multi_fidelity.h"
#include "tuning/suggester.h"
#include "tuning/tpe_sampler.h"

namespace cadre::tuning {

// What ASHA's TPE sampler learns from: every configuration with a result, in
// trial order, each with its rank (0 = best) as its loss. Ranked as Optuna's
// TPESampler ranks pruned trials: by the highest rung it completed (reaching it
// means it beat that rung's others), then by its result there. Results at
// different budgets are not comparable — a 1-epoch loss says little of a
// 9-epoch one — and modelling only the bottom rung's would learn what trains
// fast, not what trains well. TPE uses only the order of losses.
std::vector<std::pair<Assignment, double>> ranked_by_rung(const TrialHistory& history,
                                                          const std::vector<int64_t>& rungs);

class Asha : public Suggester {
 public:
  Asha(SearchSpace space, MultiFidelityOptions options);
  Result<Next> next(const TrialHistory& history) override;
  // Rung k's budget: min_resource·η^k, the last one capped at max_resource.
  const std::vector<int64_t>& rungs() const { return rungs_; }

 private:
  SearchSpace space_;
  MultiFidelityOptions options_;
  std::vector<int64_t> rungs_;
  TpeSampler tpe_;
};

}  // namespace cadre::tuning

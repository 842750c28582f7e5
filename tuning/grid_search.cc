#include "tuning/grid_search.h"

namespace cadre::tuning {

Result<std::unique_ptr<GridSearch>> GridSearch::Create(SearchSpace space) {
  std::unique_ptr<GridSearch> g(new GridSearch(std::move(space)));
  for (size_t i = 0; i < g->space_.parameters.size(); ++i) {
    const auto& p = g->space_.parameters[i];
    const int64_t c = p.choices();
    if (c == 0)
      return InvalidArgument("spec.parameters[" + std::to_string(i) +
                             "].feasibleSpace.step: grid needs a step for double parameter '" +
                             p.name + "'");
    if (g->size_ > (int64_t{1} << 40) / c)
      return InvalidArgument("spec.parameters: the grid has more than 2^40 points");
    g->size_ *= c;
  }
  return g;
}

Result<Next> GridSearch::next(const TrialHistory& history) {
  // Point k of the grid is the k-th trial: the first parameter varies slowest.
  // Trials are never removed from the history, so a restart resumes the walk.
  const auto k = static_cast<int64_t>(history.trials.size());
  if (k >= size_) return Next{Decision::kExhausted, {}};
  Next next{Decision::kSuggest, {}};
  Assignment a(space_.parameters.size());
  int64_t rest = k;
  for (size_t i = space_.parameters.size(); i-- > 0;) {
    const auto& p = space_.parameters[i];
    const int64_t c = p.choices();
    const int64_t index = rest % c;
    rest /= c;
    if (!p.numeric()) {
      a[i] = static_cast<double>(index);
    } else {
      const double step = p.step > 0 ? p.step : 1;
      a[i] = p.min + static_cast<double>(index) * step;
    }
  }
  next.suggestion.assignment = a;
  return next;
}

}  // namespace cadre::tuning

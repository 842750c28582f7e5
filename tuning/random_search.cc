#include "tuning/random_search.h"

#include <algorithm>

namespace cadre::tuning {

// The number of points of a space whose parameters all have finite choices,
// saturating; 0 when some parameter is continuous.
int64_t finite_size(const SearchSpace& space) {
  int64_t n = 1;
  for (const auto& p : space.parameters) {
    const int64_t c = p.choices();
    if (c == 0) return 0;
    n = n > (int64_t{1} << 40) / c ? (int64_t{1} << 40) : n * c;
  }
  return n;
}

bool taken(const TrialHistory& history, const Assignment& a) {
  return std::any_of(history.trials.begin(), history.trials.end(),
                     [&](const TrialRecord& t) { return t.assignment == a; });
}

Result<Next> RandomSearch::next(const TrialHistory& history) {
  const int64_t size = finite_size(space_);
  if (size > 0 && static_cast<int64_t>(history.trials.size()) >= size)
    return Next{Decision::kExhausted, {}};
  auto rng = decision_rng(seed_, history.trials.size());
  Next next{Decision::kSuggest, {}};
  // A finite space is not sampled twice at the same point: redraw, a bounded
  // number of times (continuous spaces repeat with probability zero).
  for (int attempt = 0; attempt < 1000; ++attempt) {
    Assignment a;
    for (const auto& p : space_.parameters) a.push_back(sample_prior(p, rng));
    next.suggestion.assignment = a;
    if (size == 0 || !taken(history, a)) return next;
  }
  return next;
}

}  // namespace cadre::tuning

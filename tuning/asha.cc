#include "tuning/asha.h"

#include <algorithm>
#include <cmath>

#include "tuning/random_search.h"

namespace cadre::tuning {

std::vector<std::pair<Assignment, double>> ranked_by_rung(const TrialHistory& history,
                                                          const std::vector<int64_t>& rungs) {
  struct Key {
    int rung;
    double loss;
    size_t index;  // into `observed`
  };
  std::vector<std::pair<Assignment, double>> observed;
  std::vector<Key> keys;
  for (const auto& t : history.trials) {
    // A running trial's rung is still in progress: its last complete one counts.
    const int completed = t.state == TrialState::kRunning ? t.rung - 1 : t.rung;
    for (int k = std::min(completed, static_cast<int>(rungs.size()) - 1); k >= 0; --k) {
      if (auto loss = result_at(history, t, rungs[k])) {
        keys.push_back({k, *loss, observed.size()});
        observed.emplace_back(t.assignment, 0.0);
        break;
      }
    }
  }
  std::stable_sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.rung != b.rung ? a.rung > b.rung : a.loss < b.loss;
  });
  for (size_t rank = 0; rank < keys.size(); ++rank)
    observed[keys[rank].index].second = static_cast<double>(rank);
  return observed;
}

Asha::Asha(SearchSpace space, MultiFidelityOptions options)
    : space_(std::move(space)), options_(options), tpe_(space_, options.tpe_options) {
  // r_k = min_resource·η^k for every k with r_k <= max_resource.
  double r = static_cast<double>(options_.min_resource);
  while (static_cast<int64_t>(std::llround(r)) <= options_.max_resource) {
    const auto rung = static_cast<int64_t>(std::llround(r));
    if (rungs_.empty() || rung > rungs_.back()) rungs_.push_back(rung);
    r *= options_.eta;
  }
}

Result<Next> Asha::next(const TrialHistory& history) {
  // Promotion first, from the highest rung down: a trial in the top 1/η of the
  // results at rung k that has finished rung k and not gone further.
  for (int k = static_cast<int>(rungs_.size()) - 2; k >= 0; --k) {
    std::vector<std::pair<double, const TrialRecord*>> results;
    for (const auto& t : history.trials) {
      const bool reached = t.rung > k || (t.rung == k && t.state != TrialState::kRunning);
      if (!reached) continue;
      if (auto loss = result_at(history, t, rungs_[k])) results.emplace_back(*loss, &t);
    }
    auto top = static_cast<size_t>(std::floor(results.size() / options_.eta));
    if (top == 0 && options_.eager_promotion) top = results.empty() ? 0 : 1;
    if (top == 0) continue;
    std::stable_sort(results.begin(), results.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < top; ++i) {
      const TrialRecord& t = *results[i].second;
      if (t.rung != k || t.state != TrialState::kSucceeded) continue;
      Next next{Decision::kSuggest, {}};
      next.suggestion.assignment = t.assignment;
      next.suggestion.assignment[options_.resource_index] = static_cast<double>(rungs_[k + 1]);
      next.suggestion.resource = rungs_[k + 1];
      next.suggestion.continue_trial = t.id;
      next.suggestion.rung = k + 1;
      return next;
    }
  }
  // Otherwise a new configuration at the bottom rung.
  std::vector<Assignment> running;
  for (const auto& t : history.trials)
    if (t.state == TrialState::kRunning && t.rung == 0) running.push_back(t.assignment);
  const auto observed =
      options_.tpe ? ranked_by_rung(history, rungs_) : std::vector<std::pair<Assignment, double>>{};
  const int skip = options_.resource_index;
  Next next{Decision::kSuggest, {}};
  const int64_t size =
      finite_size(space_) / std::max<int64_t>(1, space_.parameters[skip].choices());
  for (uint64_t attempt = 0; attempt < 100; ++attempt) {
    const uint64_t decision = history.trials.size() * 1000 + attempt;
    Assignment a;
    if (options_.tpe) {
      a = tpe_.sample(observed, running, decision, skip);
    } else {
      auto rng = decision_rng(options_.seed, decision);
      for (size_t i = 0; i < space_.parameters.size(); ++i)
        a.push_back(static_cast<int>(i) == skip ? 0.0 : sample_prior(space_.parameters[i], rng));
    }
    a[skip] = static_cast<double>(rungs_[0]);
    next.suggestion.assignment = a;
    if (finite_size(space_) == 0 || !taken(history, a)) break;
    if (static_cast<int64_t>(history.trials.size()) >= size) return Next{Decision::kExhausted, {}};
  }
  next.suggestion.resource = rungs_[0];
  next.suggestion.rung = 0;
  return next;
}

}  // namespace cadre::tuning

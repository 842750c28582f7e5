#include "tuning/hyperband.h"

#include <algorithm>
#include <cmath>

namespace cadre::tuning {
namespace {

struct Rung {
  int64_t n = 0;         // configurations that run this rung
  int64_t resource = 0;  // their budget
};

// Bracket s of Li et al. (2017): n_i configurations at resource R·η^(i-s).
std::vector<Rung> bracket_rungs(int s, int s_max, const MultiFidelityOptions& options) {
  const double eta = options.eta;
  const double R = static_cast<double>(options.max_resource);
  const double budget = (s_max + 1) * R;
  std::vector<Rung> rungs(s + 1);
  const auto n0 = static_cast<int64_t>(std::ceil(budget / R * std::pow(eta, s) / (s + 1)));
  for (int i = 0; i <= s; ++i) {
    rungs[i].n = std::max<int64_t>(1, static_cast<int64_t>(std::floor(n0 * std::pow(eta, -i))));
    rungs[i].resource =
        std::max<int64_t>(options.min_resource, std::llround(R * std::pow(eta, i - s)));
  }
  return rungs;
}

// Successive halving is synchronous inside a bracket: rung i's members are the
// best of rung i-1 once all of rung i-1 has finished. nullptr while rung i-1
// still runs, or when failures left fewer survivors (the bracket ends there).
const TrialRecord* to_promote(const TrialHistory& history,
                              const std::vector<const TrialRecord*>& in,
                              const std::vector<Rung>& rungs, int i) {
  const bool waiting = std::any_of(in.begin(), in.end(), [&](auto* t) {
    return t->rung == i - 1 && t->state == TrialState::kRunning;
  });
  if (waiting) return nullptr;
  std::vector<std::pair<double, const TrialRecord*>> results;
  for (auto* t : in)
    if (t->rung >= i - 1)
      if (auto loss = result_at(history, *t, rungs[i - 1].resource)) results.emplace_back(*loss, t);
  std::stable_sort(results.begin(), results.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  const auto keep = std::min<size_t>(results.size(), static_cast<size_t>(rungs[i].n));
  for (size_t r = 0; r < keep; ++r)
    if (results[r].second->rung == i - 1) return results[r].second;
  return nullptr;
}

}  // namespace

Hyperband::Hyperband(SearchSpace space, MultiFidelityOptions options)
    : space_(std::move(space)), options_(options) {
  const double ratio =
      static_cast<double>(options_.max_resource) / static_cast<double>(options_.min_resource);
  s_max_ = static_cast<int>(std::floor(std::log(ratio) / std::log(options_.eta) + 1e-9));
}

Result<Next> Hyperband::next(const TrialHistory& history) {
  // Brackets run in the order s = s_max, ..., 0 and then again; bracket b of the
  // sequence has s = s_max - b mod (s_max + 1). Trials carry their b.
  for (int b = 0;; ++b) {
    const int s = s_max_ - b % (s_max_ + 1);
    const std::vector<Rung> rungs = bracket_rungs(s, s_max_, options_);
    std::vector<const TrialRecord*> in;
    for (const auto& t : history.trials)
      if (t.bracket == b) in.push_back(&t);
    for (int i = 0; i <= s; ++i) {
      const auto started =
          std::count_if(in.begin(), in.end(), [&](auto* t) { return t->rung >= i; });
      if (started >= rungs[i].n) continue;
      Next next{Decision::kSuggest, {}};
      next.suggestion.bracket = b;
      next.suggestion.rung = i;
      next.suggestion.resource = rungs[i].resource;
      if (i == 0) {
        auto rng = decision_rng(options_.seed, history.trials.size());
        for (size_t d = 0; d < space_.parameters.size(); ++d)
          next.suggestion.assignment.push_back(static_cast<int>(d) == options_.resource_index
                                                   ? 0.0
                                                   : sample_prior(space_.parameters[d], rng));
        next.suggestion.assignment[options_.resource_index] =
            static_cast<double>(rungs[i].resource);
        return next;
      }
      const TrialRecord* promote = to_promote(history, in, rungs, i);
      if (!promote) break;  // this bracket waits or has ended; a later one may have work
      next.suggestion.assignment = promote->assignment;
      next.suggestion.assignment[options_.resource_index] = static_cast<double>(rungs[i].resource);
      next.suggestion.continue_trial = promote->id;
      return next;
    }
    if (in.empty()) return Next{Decision::kWait, {}};  // unreachable: rung 0 starts it
    // Nothing to start in this bracket now: look at the next one, but do not
    // open more than one new bracket ahead of the trials the history has.
    if (b > static_cast<int>(history.trials.size())) return Next{Decision::kWait, {}};
  }
}

}  // namespace cadre::tuning

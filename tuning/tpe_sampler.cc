#include "tuning/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tuning/random_search.h"

namespace cadre::tuning {
namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kLogSqrt2Pi = 0.9189385332046727;

bool log_scale(const ParameterSpec& p) {
  return p.distribution == Distribution::kLogUniform || p.distribution == Distribution::kLogNormal;
}

// A numeric parameter's internal interval: log scale where its prior is, widened
// by half a step so that rounding gives every grid value the same share.
struct Interval {
  double low = 0, high = 1;
};

Interval interval(const ParameterSpec& p) {
  const double half = (p.step > 0 ? p.step : (p.type == ParameterType::kInt ? 1 : 0)) / 2;
  double low = p.min - half, high = p.max + half;
  if (log_scale(p)) {
    low = std::log(std::max(low, p.min / 2));
    high = std::log(high);
  }
  return {low, high};
}

double to_internal(const ParameterSpec& p, double v) { return log_scale(p) ? std::log(v) : v; }
double from_internal(const ParameterSpec& p, double x) {
  return snap(p, log_scale(p) ? std::exp(x) : x);
}

// Optuna's default weights: equal for the last 25 observations, a ramp from 1/n
// up for older ones (observations in trial order).
std::vector<double> ramp_weights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n <= 25) return w;
  const size_t ramp = n - 25;
  for (size_t i = 0; i < ramp; ++i)
    w[i] = 1.0 / n + (1.0 - 1.0 / n) * (ramp == 1 ? 0 : static_cast<double>(i) / (ramp - 1));
  return w;
}

double log_sum_exp(const std::vector<double>& v) {
  const double m = *std::max_element(v.begin(), v.end());
  if (!std::isfinite(m)) return m;
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / kSqrt2); }

// A mixture: one component per observation plus the prior. For numeric
// dimensions mu/sigma per component; for categorical ones a distribution per
// component. Univariate estimators have one dimension.
struct Parzen {
  std::vector<double> log_weights;                      // per component
  std::vector<std::vector<double>> mu, sigma;           // [dim][component], numeric dims
  std::vector<std::vector<std::vector<double>>> probs;  // [dim][component][choice]
  std::vector<Interval> bounds;                         // per dim
};

// Builds the estimator over `dims` of `space` from observations (internal values
// for numeric dims, indices for categorical ones), as Optuna's _ParzenEstimator.
Parzen build(const SearchSpace& space, const std::vector<int>& dims,
             const std::vector<std::vector<double>>& obs, double prior_weight, bool multivariate) {
  Parzen e;
  const size_t n = obs.size();
  const size_t k = n + 1;  // + prior
  std::vector<double> w = ramp_weights(n);
  w.push_back(prior_weight);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (double x : w) e.log_weights.push_back(std::log(x / total));
  e.mu.resize(dims.size());
  e.sigma.resize(dims.size());
  e.probs.resize(dims.size());
  e.bounds.resize(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    const auto& p = space.parameters[dims[d]];
    if (!p.numeric() || p.type == ParameterType::kDiscrete) {
      const size_t choices = p.list.size();
      e.probs[d].assign(k, std::vector<double>(choices, 1.0 / choices));
      for (size_t i = 0; i < n; ++i) {
        // A kernel peaked at the observed choice, smoothed by the prior.
        auto& q = e.probs[d][i];
        const auto c = static_cast<size_t>(obs[i][d]);
        for (size_t j = 0; j < choices; ++j)
          q[j] = ((j == c ? 1.0 : 0.0) + prior_weight / choices) / (1.0 + prior_weight);
      }
      continue;
    }
    const Interval b = interval(p);
    e.bounds[d] = b;
    const double range = b.high - b.low;
    auto& mu = e.mu[d];
    auto& sigma = e.sigma[d];
    for (size_t i = 0; i < n; ++i) mu.push_back(obs[i][d]);
    mu.push_back((b.low + b.high) / 2);  // the prior's centre
    sigma.assign(k, range);
    if (multivariate) {
      // Optuna's multivariate bandwidth: Scott-like, shrinking with n.
      const double s = 0.2 * std::pow(std::max<double>(n, 1), -1.0 / (dims.size() + 4)) * range;
      for (size_t i = 0; i < n; ++i) sigma[i] = s;
    } else if (n > 0) {
      // Each kernel as wide as its larger gap to a neighbour (the prior included).
      std::vector<size_t> order(k);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](size_t a, size_t c) { return mu[a] < mu[c]; });
      for (size_t j = 0; j < k; ++j) {
        const double left = j == 0 ? b.low : mu[order[j - 1]];
        const double right = j + 1 == k ? b.high : mu[order[j + 1]];
        double s = std::max(mu[order[j]] - left, right - mu[order[j]]);
        // consider_endpoints=False: the outermost kernels ignore the bounds.
        if (j == 0 && k > 1) s = right - mu[order[j]];
        if (j + 1 == k && k > 1) s = mu[order[j]] - left;
        sigma[order[j]] = s;
      }
      sigma[n] = range;  // the prior keeps the whole interval
    }
    // Magic clip: no kernel narrower than range / min(100, 1 + components).
    const double min_sigma = range / std::min(100.0, 1.0 + k);
    for (double& s : sigma) s = std::clamp(s, min_sigma, range);
  }
  return e;
}

double component_log_pdf(const Parzen& e, size_t comp, const std::vector<double>& x) {
  double lp = e.log_weights[comp];
  for (size_t d = 0; d < x.size(); ++d) {
    if (!e.probs[d].empty()) {
      lp += std::log(e.probs[d][comp][static_cast<size_t>(x[d])]);
      continue;
    }
    const double mu = e.mu[d][comp], s = e.sigma[d][comp];
    const double z = (x[d] - mu) / s;
    const double mass =
        normal_cdf((e.bounds[d].high - mu) / s) - normal_cdf((e.bounds[d].low - mu) / s);
    lp += -0.5 * z * z - kLogSqrt2Pi - std::log(s) - std::log(std::max(mass, 1e-12));
  }
  return lp;
}

double log_pdf(const Parzen& e, const std::vector<double>& x) {
  std::vector<double> terms(e.log_weights.size());
  for (size_t c = 0; c < terms.size(); ++c) terms[c] = component_log_pdf(e, c, x);
  return log_sum_exp(terms);
}

std::vector<double> draw(const Parzen& e, std::mt19937_64& rng) {
  std::vector<double> w(e.log_weights.size());
  for (size_t c = 0; c < w.size(); ++c) w[c] = std::exp(e.log_weights[c]);
  const size_t comp = std::discrete_distribution<size_t>(w.begin(), w.end())(rng);
  std::vector<double> x(e.mu.size());
  for (size_t d = 0; d < x.size(); ++d) {
    if (!e.probs[d].empty()) {
      const auto& q = e.probs[d][comp];
      x[d] = static_cast<double>(std::discrete_distribution<size_t>(q.begin(), q.end())(rng));
      continue;
    }
    // A truncated normal by rejection; clamped if the interval is far in a tail.
    std::normal_distribution<double> normal(e.mu[d][comp], e.sigma[d][comp]);
    double v = normal(rng);
    for (int i = 0; i < 64 && (v < e.bounds[d].low || v > e.bounds[d].high); ++i) v = normal(rng);
    x[d] = std::clamp(v, e.bounds[d].low, e.bounds[d].high);
  }
  return x;
}

}  // namespace

Assignment TpeSampler::sample(const std::vector<std::pair<Assignment, double>>& observed,
                              const std::vector<Assignment>& running, uint64_t decision,
                              int skip) const {
  auto rng = decision_rng(options_.seed, decision);
  Assignment out(space_.parameters.size(), 0.0);
  if (static_cast<int>(observed.size()) < options_.n_startup_trials) {
    for (size_t i = 0; i < out.size(); ++i)
      if (static_cast<int>(i) != skip) out[i] = sample_prior(space_.parameters[i], rng);
    return out;
  }
  // Split by loss: the best ceil(gamma·n), at most 25, are "below". Running
  // trials join "above" as if they had the worst loss (constant liar).
  std::vector<size_t> order(observed.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return observed[a].second < observed[b].second; });
  const size_t n_below = std::min<size_t>(
      25, static_cast<size_t>(std::ceil(options_.gamma * static_cast<double>(observed.size()))));
  std::vector<bool> is_below(observed.size(), false);
  for (size_t i = 0; i < n_below; ++i) is_below[order[i]] = true;

  auto internal = [&](const Assignment& a, const std::vector<int>& dims) {
    std::vector<double> x;
    for (int d : dims) {
      const auto& p = space_.parameters[d];
      x.push_back(p.numeric() && p.type != ParameterType::kDiscrete ? to_internal(p, a[d]) : a[d]);
    }
    return x;
  };
  auto estimate = [&](const std::vector<int>& dims) {
    std::vector<std::vector<double>> below, above;
    for (size_t i = 0; i < observed.size(); ++i)  // trial order, for the ramp weights
      (is_below[i] ? below : above).push_back(internal(observed[i].first, dims));
    for (const auto& r : running) above.push_back(internal(r, dims));
    return std::make_pair(build(space_, dims, below, options_.prior_weight, options_.multivariate),
                          build(space_, dims, above, options_.prior_weight, options_.multivariate));
  };
  // Candidates from l(x); the one with the largest log l(x) - log g(x) wins.
  auto choose = [&](const std::vector<int>& dims) {
    const auto [l, g] = estimate(dims);
    std::vector<double> best;
    double best_score = -INFINITY;
    for (int c = 0; c < options_.n_ei_candidates; ++c) {
      const auto x = draw(l, rng);
      const double score = log_pdf(l, x) - log_pdf(g, x);
      if (score > best_score) {
        best_score = score;
        best = x;
      }
    }
    for (size_t k = 0; k < dims.size(); ++k) {
      const auto& p = space_.parameters[dims[k]];
      out[dims[k]] =
          p.numeric() && p.type != ParameterType::kDiscrete ? from_internal(p, best[k]) : best[k];
    }
  };
  std::vector<int> all;
  for (size_t i = 0; i < out.size(); ++i)
    if (static_cast<int>(i) != skip) all.push_back(static_cast<int>(i));
  if (options_.multivariate) {
    choose(all);
  } else {
    for (int d : all) choose({d});
  }
  return out;
}

Result<Next> TpeSampler::next(const TrialHistory& history) {
  const int64_t size = finite_size(space_);
  if (size > 0 && static_cast<int64_t>(history.trials.size()) >= size)
    return Next{Decision::kExhausted, {}};
  std::vector<std::pair<Assignment, double>> observed;
  std::vector<Assignment> running;
  for (const auto& t : history.trials) {
    if (t.state == TrialState::kRunning) running.push_back(t.assignment);
    std::optional<double> value = t.objective;
    if (!value && t.state == TrialState::kEarlyStopped && !t.curve.empty())
      value = t.curve.rbegin()->second;  // a stopped trial's last report still informs
    if ((t.state == TrialState::kSucceeded || t.state == TrialState::kEarlyStopped) && value &&
        std::isfinite(*value))
      observed.emplace_back(t.assignment, history.loss(*value));
  }
  Next next{Decision::kSuggest, {}};
  const uint64_t decision = history.trials.size() * 1000;
  for (uint64_t attempt = 0; attempt < 16; ++attempt) {
    next.suggestion.assignment = sample(observed, running, decision + attempt, -1);
    if (size == 0 || !taken(history, next.suggestion.assignment)) return next;
  }
  // In a small finite space l(x)/g(x) can keep pointing at a point already
  // tried; an untried point from the prior keeps the search going.
  auto rng = decision_rng(options_.seed, decision + 999);
  for (int attempt = 0; attempt < 10000; ++attempt) {
    Assignment a;
    for (const auto& p : space_.parameters) a.push_back(sample_prior(p, rng));
    if (!taken(history, a)) {
      next.suggestion.assignment = a;
      return next;
    }
  }
  return next;
}

}  // namespace cadre::tuning

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "tuning/asha.h"
#include "tuning/grid_search.h"
#include "tuning/hyperband.h"
#include "tuning/median_stop.h"
#include "tuning/random_search.h"
#include "tuning/suggester.h"
#include "tuning/tpe_sampler.h"

namespace cadre::tuning {
namespace {

ParameterSpec dbl(const std::string& name, double lo, double hi,
                  Distribution d = Distribution::kUniform) {
  ParameterSpec p;
  p.name = name;
  p.min = lo;
  p.max = hi;
  p.distribution = d;
  return p;
}
ParameterSpec integer(const std::string& name, double lo, double hi, double step = 0) {
  ParameterSpec p = dbl(name, lo, hi);
  p.type = ParameterType::kInt;
  p.step = step;
  return p;
}
ParameterSpec categorical(const std::string& name, std::vector<std::string> list) {
  ParameterSpec p;
  p.name = name;
  p.type = ParameterType::kCategorical;
  p.list = std::move(list);
  return p;
}

// Runs `budget` trials one at a time, each finishing at once with f's value.
double best_of(Suggester& s, int budget, const std::function<double(const Assignment&)>& f) {
  TrialHistory h;
  double best = INFINITY;
  for (int i = 0; i < budget; ++i) {
    auto next = s.next(h);
    EXPECT_TRUE(next.ok());
    if (next->decision != Decision::kSuggest) break;
    const Assignment a = next->suggestion.assignment;
    TrialRecord t{i, a, TrialState::kSucceeded, {}, f(a)};
    best = std::min(best, *t.objective);
    h.trials.push_back(t);
  }
  return best;
}

// Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887.
double branin(const Assignment& a) {
  const double x = a[0], y = a[1];
  const double pi = 3.141592653589793;
  const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
  return std::pow(y - b * x * x + c * x - 6, 2) + 10 * (1 - t) * std::cos(x) + 10;
}

SearchSpace branin_space() { return {{dbl("x", -5, 10), dbl("y", 0, 15)}}; }

TEST(SearchSpace, RefusesBadParametersWithTheFieldPath) {
  struct Case {
    SearchSpace space;
    std::string says;
  } cases[] = {
      {{{dbl("lr", 1, 0.1)}}, "spec.parameters[0].feasibleSpace.min: must be < max"},
      {{{dbl("lr", 0.1, 0.1)}}, "spec.parameters[0].feasibleSpace.min: must be < max"},
      {{{integer("n", 3, 2)}}, "spec.parameters[0].feasibleSpace.min: must be < max"},
      {{{categorical("opt", {})}}, "spec.parameters[0].feasibleSpace.list: must not be empty"},
      {{{dbl("lr", 0, 1, Distribution::kLogUniform)}}, "a log distribution needs min > 0"},
      {{{dbl("a", 0, 1), dbl("a", 0, 1)}}, "spec.parameters[1].name: 'a' is declared twice"},
      {{{integer("n", 0.5, 4)}}, "integer min, max and step"},
      {{{categorical("c", {"x", "x"})}}, "feasibleSpace.list[1]: 'x' appears twice"},
      {{}, "spec.parameters: must not be empty"},
  };
  for (const auto& c : cases) {
    const Status s = c.space.validate();
    ASSERT_FALSE(s.ok()) << c.says;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
  }
}

TEST(SearchSpace, AnIntOfOneValueIsAConstantEveryAlgorithmKeeps) {
  SearchSpace space{{integer("epochs", 1, 1), dbl("lr", 0.01, 0.1)}};
  ASSERT_TRUE(space.validate().ok());
  EXPECT_EQ(space.parameters[0].choices(), 1);
  for (const char* algorithm : {"random", "tpe"}) {
    auto suggester = create_suggester(algorithm, space, {{"n_startup_trials", "2"}});
    if (std::string(algorithm) == "random") suggester = create_suggester(algorithm, space, {});
    ASSERT_TRUE(suggester.ok()) << suggester.status().to_string();
    TrialHistory h;
    for (int i = 0; i < 6; ++i) {
      auto next = (*suggester)->next(h);
      ASSERT_TRUE(next.ok());
      ASSERT_EQ(next->decision, Decision::kSuggest);
      EXPECT_EQ(next->suggestion.assignment[0], 1) << algorithm;
      TrialRecord t;
      t.id = i + 1;
      t.assignment = next->suggestion.assignment;
      t.state = TrialState::kSucceeded;
      t.objective = next->suggestion.assignment[1];
      h.trials.push_back(t);
    }
  }
}

TEST(GridSearch, CoversTheSpaceExactlyOnceThenExhausts) {
  SearchSpace space{{categorical("opt", {"sgd", "adam"}), integer("batch", 16, 64, 16), [] {
                       auto p = dbl("lr", 0.1, 0.3);
                       p.step = 0.1;
                       return p;
                     }()}};
  auto grid = GridSearch::Create(space).value();
  EXPECT_EQ(grid->size(), 2 * 4 * 3);
  TrialHistory h;
  std::set<Assignment> seen;
  for (int i = 0;; ++i) {
    auto next = grid->next(h).value();
    if (next.decision == Decision::kExhausted) break;
    ASSERT_TRUE(seen.insert(next.suggestion.assignment).second) << "point repeated at " << i;
    h.trials.push_back({i, next.suggestion.assignment, TrialState::kSucceeded, {}, 1.0});
  }
  EXPECT_EQ(seen.size(), 24u);
  EXPECT_FALSE(GridSearch::Create(branin_space()).ok()) << "a continuous double has no grid";
}

TEST(RandomSearch, IsDeterministicForARandomStateAndNeverRepeatsAFinitePoint) {
  RandomSearch a(branin_space(), 7), b(branin_space(), 7), c(branin_space(), 8);
  EXPECT_EQ(best_of(a, 20, branin), best_of(b, 20, branin));
  EXPECT_NE(best_of(a, 20, branin), best_of(c, 20, branin));
  SearchSpace small{{categorical("c", {"a", "b", "c"}), integer("n", 1, 3)}};
  RandomSearch r(small, 1);
  TrialHistory h;
  std::set<Assignment> seen;
  for (int i = 0; i < 9; ++i) {
    auto next = r.next(h).value();
    ASSERT_EQ(next.decision, Decision::kSuggest);
    ASSERT_TRUE(seen.insert(next.suggestion.assignment).second);
    h.trials.push_back({i, next.suggestion.assignment, TrialState::kRunning, {}, {}});
  }
  EXPECT_EQ(r.next(h)->decision, Decision::kExhausted);
}

TEST(TpeSampler, BeatsRandomOnBraninOnAverageOver20Seeds) {
  double tpe_sum = 0, random_sum = 0, multi_sum = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    TpeOptions o;
    o.seed = seed;
    TpeSampler tpe(branin_space(), o);
    o.multivariate = true;
    TpeSampler multi(branin_space(), o);
    RandomSearch random(branin_space(), seed);
    tpe_sum += best_of(tpe, 60, branin);
    multi_sum += best_of(multi, 60, branin);
    random_sum += best_of(random, 60, branin);
  }
  EXPECT_LT(tpe_sum, random_sum) << "tpe " << tpe_sum / 20 << " random " << random_sum / 20;
  EXPECT_LT(multi_sum, random_sum) << "multivariate " << multi_sum / 20;
  EXPECT_LT(tpe_sum / 20, 1.0) << "tpe should get close to 0.398";
}

// Hartmann-6 on [0, 1]^6; minimum -3.32237.
double hartmann6(const Assignment& x) {
  static const double a[4] = {1.0, 1.2, 3.0, 3.2};
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                 {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                 {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                 {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) inner += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
    sum += a[i] * std::exp(-inner);
  }
  return -sum;
}

TEST(TpeSampler, MultivariateBeatsRandomOnHartmann6) {
  SearchSpace space;
  for (int d = 0; d < 6; ++d) space.parameters.push_back(dbl("x" + std::to_string(d), 0, 1));
  double tpe_sum = 0, random_sum = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    TpeOptions o;
    o.seed = seed;
    o.multivariate = true;
    TpeSampler tpe(space, o);
    RandomSearch random(space, seed);
    tpe_sum += best_of(tpe, 100, hartmann6);
    random_sum += best_of(random, 100, hartmann6);
  }
  EXPECT_LT(tpe_sum, random_sum) << "tpe " << tpe_sum / 8 << " random " << random_sum / 8;
}

TEST(TpeSampler, ConvergesOnANoisyQuadraticOverLogAndIntAndCategoricalParameters) {
  SearchSpace space{{dbl("lr", 1e-4, 1, Distribution::kLogUniform), integer("width", 8, 512),
                     categorical("act", {"relu", "tanh", "sigmoid"})}};
  std::mt19937_64 noise(1);
  auto f = [&](const Assignment& a) {
    const double l = std::log10(a[0]) + 2;  // best lr 0.01
    const double w = (a[1] - 128) / 128;    // best width 128
    return l * l + w * w + (a[2] == 1 ? 0 : 0.5) + std::normal_distribution<double>(0, 0.01)(noise);
  };
  TpeOptions o;
  o.seed = 3;
  TpeSampler tpe(space, o);
  EXPECT_LT(best_of(tpe, 80, f), 0.15);
}

TEST(TpeSampler, EightPendingTrialsGetEightDifferentPoints) {
  SearchSpace space{{categorical("a", {"p", "q", "r", "s"}), integer("b", 1, 4)}};
  TpeOptions o;
  o.n_startup_trials = 2;
  TpeSampler tpe(space, o);
  TrialHistory h;
  h.trials.push_back({0, {0, 1}, TrialState::kSucceeded, {}, 1.0});
  h.trials.push_back({1, {1, 2}, TrialState::kSucceeded, {}, 2.0});
  std::set<Assignment> seen{{0, 1}, {1, 2}};
  for (int i = 2; i < 10; ++i) {
    auto next = tpe.next(h).value();
    ASSERT_TRUE(seen.insert(next.suggestion.assignment).second) << "duplicate at " << i;
    h.trials.push_back({i, next.suggestion.assignment, TrialState::kRunning, {}, {}});
  }
}

// A synthetic learning curve: loss falls with the budget towards a floor that
// depends on the configuration (x near 0.3 is best).
double curve(const Assignment& a, int64_t epoch) {
  const double floor = std::pow(a[0] - 0.3, 2);
  return floor + 1.0 / static_cast<double>(epoch);
}

// Runs a multi-fidelity suggester with `parallel` slots; trials report one value
// per epoch up to their budget and finish in launch order.
TrialHistory drive(Suggester& s, int launches, int parallel = 1) {
  TrialHistory h;
  std::vector<int64_t> running;
  int next_id = 0;
  for (int i = 0; i < launches; ++i) {
    auto next = s.next(h).value();
    if (next.decision != Decision::kSuggest) {
      if (running.empty()) break;
    } else {
      const auto& sg = next.suggestion;
      if (sg.continue_trial) {
        auto& t = h.trials[*sg.continue_trial];
        t.state = TrialState::kRunning;
        t.resource = sg.resource;
        t.rung = sg.rung;
        running.push_back(t.id);
      } else {
        TrialRecord t{next_id++, Assignment(sg.assignment), TrialState::kRunning, {}, {}};
        t.resource = sg.resource;
        t.bracket = sg.bracket;
        t.rung = sg.rung;
        h.trials.push_back(t);
        running.push_back(t.id);
      }
      if (static_cast<int>(running.size()) < parallel) continue;
    }
    // The oldest running trial finishes its budget, continuing its own curve.
    auto& t = h.trials[running.front()];
    running.erase(running.begin());
    const int64_t from = t.curve.empty() ? 1 : t.curve.rbegin()->first + 1;
    for (int64_t e = from; e <= t.resource; ++e) t.curve[e] = curve(t.assignment, e);
    t.objective = t.curve.rbegin()->second;
    t.state = TrialState::kSucceeded;
  }
  return h;
}

MultiFidelityOptions budget(int64_t min, int64_t max, double eta = 3) {
  MultiFidelityOptions o;
  o.resource_index = 1;
  o.min_resource = min;
  o.max_resource = max;
  o.eta = eta;
  return o;
}

SearchSpace curve_space() { return {{dbl("x", 0, 1), integer("epochs", 1, 27)}}; }

TEST(Hyperband, RunsEveryBracketAndThenStartsOver) {
  Hyperband hb(curve_space(), budget(1, 27));
  EXPECT_EQ(hb.brackets(), 4);  // s = 3, 2, 1, 0
  const TrialHistory h = drive(hb, 400);
  std::set<int> brackets;
  for (const auto& t : h.trials) brackets.insert(t.bracket);
  EXPECT_GE(brackets.size(), 5u) << "all four brackets, then the first again";
  // Bracket 0 (s = 3): 27 configurations at 1 epoch, 9 at 3, 3 at 9, 1 at 27.
  std::map<int, int> at_rung;
  for (const auto& t : h.trials)
    if (t.bracket == 0)
      for (int r = 0; r <= t.rung; ++r) at_rung[r]++;
  EXPECT_EQ(at_rung, (std::map<int, int>{{0, 27}, {1, 9}, {2, 3}, {3, 1}}));
  // Promotions continued trials: the bracket's winner reported epochs 1..27.
  const auto winner = std::find_if(h.trials.begin(), h.trials.end(),
                                   [](const auto& t) { return t.bracket == 0 && t.rung == 3; });
  ASSERT_NE(winner, h.trials.end());
  EXPECT_EQ(winner->curve.size(), 27u);
}

// ASHA's decisions over `steps` slots, each trial finishing at once: a trial's
// loss at 1 epoch is losses[id], one lower per rung above.
std::vector<std::string> asha_trace(Asha& asha, const std::vector<double>& losses, int steps) {
  TrialHistory h;
  auto finish = [&](int64_t id, double loss) {
    auto& t = h.trials[id];
    t.curve[t.resource] = loss;
    t.objective = loss;
    t.state = TrialState::kSucceeded;
  };
  std::vector<std::string> trace;
  int next_new = 0;
  for (int step = 0; step < steps; ++step) {
    auto next = asha.next(h).value();
    EXPECT_EQ(next.decision, Decision::kSuggest);
    const auto& sg = next.suggestion;
    if (sg.continue_trial) {
      auto& t = h.trials[*sg.continue_trial];
      t.rung = sg.rung;
      t.resource = sg.resource;
      t.state = TrialState::kRunning;
      trace.push_back("promote " + std::to_string(t.id) + " to " + std::to_string(sg.resource));
      finish(t.id, losses[t.id] - sg.rung);
    } else {
      TrialRecord t{next_new++, Assignment(sg.assignment), TrialState::kRunning, {}, {}};
      t.resource = sg.resource;
      h.trials.push_back(t);
      trace.push_back("new " + std::to_string(t.id));
      finish(t.id, losses[t.id]);
    }
  }
  return trace;
}

TEST(Asha, PromotesTheTopThirdOfARungAsAHandTraceSays) {
  // Rungs at 1, 3, 9 epochs. Losses at 1 epoch are fixed per trial so the
  // trace can be computed by hand: trial losses 5, 3, 8, 1, 7, 6, ...
  SearchSpace space{{integer("cfg", 0, 100), integer("epochs", 1, 9)}};
  Asha asha(space, budget(1, 9));  // Li et al.'s rule ("promotion: strict", the default)
  EXPECT_EQ(asha.rungs(), (std::vector<int64_t>{1, 3, 9}));
  const auto trace = asha_trace(asha, {5, 3, 8, 1, 7, 6, 9, 4, 2, 0.5, 7, 7}, 14);
  // By hand: 3 results at rung 0 make a top third of one (#1, loss 3), which
  // goes up; at 4 results #3 (loss 1) is the top and goes up; the top two of 6-8
  // results (#3, #1) are both promoted already; at 9 the top three add #8 (loss
  // 2); then rung 1 has 3 results (#1: 2, #3: 0, #8: 1) and its best, #3, goes to
  // 9 epochs; after that nothing is promotable and a new configuration starts.
  const std::vector<std::string> expected = {
      "new 0", "new 1", "new 2", "promote 1 to 3", "new 3",          "promote 3 to 3", "new 4",
      "new 5", "new 6", "new 7", "new 8",          "promote 8 to 3", "promote 3 to 9", "new 9"};
  EXPECT_EQ(trace, expected);
}

TEST(Asha, EagerPromotionLetsARungsBestGoOnBeforeTheRungHasEtaResults) {
  SearchSpace space{{integer("cfg", 0, 100), integer("epochs", 1, 9)}};
  auto eager = budget(1, 9);
  eager.eager_promotion = true;  // "promotion: eager"
  Asha asha(space, eager);
  const auto trace = asha_trace(asha, {5, 3, 8, 1, 7, 6, 9, 4, 2, 0.5, 7, 7}, 10);
  // By hand: #0 alone at each rung is its best, so it goes straight to 9 epochs;
  // #1 (3) beats #0 (5) at rung 0 and then (2 vs 4) at rung 1, so it goes up
  // too; #2 (8) is not the best of three; at 4 results the top third is #3 (1),
  // best again at rung 1 (0), so it also reaches 9 epochs.
  const std::vector<std::string> expected = {
      "new 0",          "promote 0 to 3", "promote 0 to 9", "new 1",          "promote 1 to 3",
      "promote 1 to 9", "new 2",          "new 3",          "promote 3 to 3", "promote 3 to 9"};
  EXPECT_EQ(trace, expected);
}

TEST(Asha, ItsTpeRanksAConfigurationByTheHighestRungItCompletedThenByItsResultThere) {
  TrialHistory h;
  auto trial = [&](TrialState state, int rung, std::map<int64_t, double> curve) {
    TrialRecord t{static_cast<int64_t>(h.trials.size()),
                  {static_cast<double>(h.trials.size())},
                  state,
                  std::move(curve),
                  {}};
    t.rung = rung;
    h.trials.push_back(t);
  };
  trial(TrialState::kSucceeded, 0, {{1, 0.1}});            // best at 1 epoch, not promoted
  trial(TrialState::kSucceeded, 1, {{1, 0.3}, {3, 0.5}});  // completed 3 epochs
  trial(TrialState::kSucceeded, 0, {{1, 0.2}});
  trial(TrialState::kRunning, 1, {{1, 0.25}, {2, 0.01}});  // promoted, 3 epochs not done
  trial(TrialState::kRunning, 0, {});                      // nothing yet: a pending point
  trial(TrialState::kFailed, 0, {{1, 0.05}});
  const auto ranked = ranked_by_rung(h, {1, 3, 9});
  // In trial order; #1 reached the higher rung, so it leads whatever its loss.
  const std::vector<std::pair<Assignment, double>> expected = {
      {{0}, 1}, {{1}, 0}, {{2}, 2}, {{3}, 3}};
  EXPECT_EQ(ranked, expected);
}

TEST(Asha, NeedsAThirdOfRandomSearchsEpochsForTheSameBest) {
  int64_t asha_epochs = 0, random_epochs = 0;
  double asha_best = 0, random_best = 0;
  for (uint64_t seed = 0; seed < 3; ++seed) {
    auto o = budget(1, 27);
    o.seed = seed;
    Asha asha(curve_space(), o);
    const TrialHistory h = drive(asha, 120, 2);
    double best = INFINITY;
    for (const auto& t : h.trials) {
      asha_epochs += static_cast<int64_t>(t.curve.size());
      if (t.resource == 27 && t.objective) best = std::min(best, *t.objective);
    }
    asha_best += best;
    // Random search at the full budget, as many configurations as ASHA tried.
    RandomSearch random({{dbl("x", 0, 1)}}, seed);
    const double r = best_of(random, static_cast<int>(h.trials.size()), [](const Assignment& a) {
      return curve({a[0], 27}, 27);
    });
    random_best += r;
    random_epochs += 27 * static_cast<int64_t>(h.trials.size());
  }
  EXPECT_LE(asha_epochs * 3, random_epochs);
  EXPECT_LT(asha_best / 3, random_best / 3 + 0.01);
}

TEST(MedianStop, StopsAClearlyWorseTrialOnlyAfterStartStepAndEnoughPeers) {
  TrialHistory h;
  for (int i = 0; i < 3; ++i) {
    TrialRecord t;
    t.id = i;
    for (int s = 1; s <= 6; ++s) t.curve[s] = 1.0 / s;
    t.state = TrialState::kSucceeded;
    h.trials.push_back(t);
  }
  TrialRecord bad;
  bad.id = 9;
  for (int s = 1; s <= 3; ++s) bad.curve[s] = 5.0;
  MedianStopOptions o;  // start_step 4, 3 trials required
  EXPECT_FALSE(should_stop(h, bad, o)) << "before start_step";
  bad.curve[4] = 5.0;
  EXPECT_TRUE(should_stop(h, bad, o));
  o.min_trials_required = 4;
  EXPECT_FALSE(should_stop(h, bad, o)) << "only 3 peers reported step 4";
  TrialRecord good = bad;
  for (auto& [s, v] : good.curve) v = 0.01;
  o.min_trials_required = 3;
  EXPECT_FALSE(should_stop(h, good, o));
}

TEST(CreateSuggester, RefusesUnknownAlgorithmsAndSettingsByName) {
  const SearchSpace space = curve_space();
  struct Case {
    std::string algorithm;
    Settings settings;
    std::string says;
  } cases[] = {
      {"bayes", {}, "spec.algorithm.algorithmName: 'bayes'"},
      {"tpe", {{"gama", "0.2"}}, "algorithmSettings.gama: not a setting"},
      {"tpe", {{"gamma", "2"}}, "algorithmSettings.gamma: must be in"},
      {"random", {{"random_state", "x"}}, "random_state: 'x' is not an integer"},
      {"hyperband", {}, "algorithmSettings.resource_name: required"},
      {"hyperband", {{"resource_name", "x"}}, "'x' must be an int parameter"},
      {"asha", {{"resource_name", "nope"}}, "'nope' is not a parameter"},
      {"asha", {{"resource_name", "epochs"}, {"min_resource", "30"}}, "min_resource"},
      {"asha", {{"resource_name", "epochs"}, {"promotion", "lazy"}}, ".promotion: 'lazy'"},
      {"grid", {}, "grid needs a step"},
  };
  for (const auto& c : cases) {
    auto s = create_suggester(c.algorithm, space, c.settings);
    ASSERT_FALSE(s.ok()) << c.algorithm;
    EXPECT_NE(s.status().message().find(c.says), std::string::npos) << s.status().message();
  }
  EXPECT_TRUE(
      create_suggester("asha", space, {{"resource_name", "epochs"}, {"sampler", "tpe"}}).ok());
  EXPECT_TRUE(
      create_suggester("asha", space, {{"resource_name", "epochs"}, {"promotion", "strict"}}).ok());
  EXPECT_TRUE(
      create_suggester("hyperband", space, {{"resource_name", "epochs"}, {"eta", "3"}}).ok());
}

}  // namespace
}  // namespace cadre::tuning

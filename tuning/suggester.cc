#include "tuning/suggester.h"

#include <cmath>

#include "tuning/asha.h"
#include "tuning/grid_search.h"
#include "tuning/hyperband.h"
#include "tuning/random_search.h"
#include "tuning/settings.h"
#include "tuning/tpe_sampler.h"

namespace cadre::tuning {
namespace {

const char* const kPath = "spec.algorithm.algorithmSettings";

Result<TpeOptions> tpe_options(const Settings& s, uint64_t seed, bool multivariate) {
  TpeOptions o;
  o.seed = seed;
  o.multivariate = multivariate;
  ASSIGN_OR_RETURN(const int64_t startup, int_setting(s, "n_startup_trials", 10, 0, kPath));
  ASSIGN_OR_RETURN(const int64_t candidates, int_setting(s, "n_EI_candidates", 24, 1, kPath));
  o.n_startup_trials = static_cast<int>(startup);
  o.n_ei_candidates = static_cast<int>(std::min<int64_t>(candidates, 10000));
  ASSIGN_OR_RETURN(o.gamma, double_setting(s, "gamma", 0.1, 1e-6, 1, kPath));
  ASSIGN_OR_RETURN(o.prior_weight, double_setting(s, "prior_weight", 1.0, 1e-6, 1e6, kPath));
  return o;
}

// The budget parameter of Hyperband and ASHA: an int parameter of the space.
Result<MultiFidelityOptions> budget_options(const SearchSpace& space, const Settings& s,
                                            const char* eta_name, uint64_t seed) {
  MultiFidelityOptions o;
  o.seed = seed;
  auto it = s.find("resource_name");
  if (it == s.end())
    return InvalidArgument(std::string(kPath) +
                           ".resource_name: required (the int parameter that is the budget, "
                           "e.g. epochs)");
  o.resource_index = space.index_of(it->second);
  if (o.resource_index < 0)
    return InvalidArgument(std::string(kPath) + ".resource_name: '" + it->second.substr(0, 64) +
                           "' is not a parameter of spec.parameters");
  const auto& p = space.parameters[o.resource_index];
  if (p.type != ParameterType::kInt)
    return InvalidArgument(std::string(kPath) + ".resource_name: '" + p.name +
                           "' must be an int parameter");
  ASSIGN_OR_RETURN(o.eta, double_setting(s, eta_name, 3, 1.01, 100, kPath));
  return o;
}

}  // namespace

Result<std::unique_ptr<Suggester>> create_suggester(const std::string& algorithm,
                                                    const SearchSpace& space, const Settings& s) {
  RETURN_IF_ERROR(space.validate());
  ASSIGN_OR_RETURN(const int64_t seed_setting, int_setting(s, "random_state", 0, 0, kPath));
  const auto seed = static_cast<uint64_t>(seed_setting);
  if (algorithm == "random") {
    RETURN_IF_ERROR(check_known(s, {"random_state"}, kPath));
    return std::unique_ptr<Suggester>(new RandomSearch(space, seed));
  }
  if (algorithm == "grid") {
    RETURN_IF_ERROR(check_known(s, {}, kPath));
    ASSIGN_OR_RETURN(auto grid, GridSearch::Create(space));
    return std::unique_ptr<Suggester>(std::move(grid));
  }
  if (algorithm == "tpe" || algorithm == "multivariate-tpe") {
    RETURN_IF_ERROR(check_known(
        s, {"random_state", "n_startup_trials", "n_EI_candidates", "gamma", "prior_weight"},
        kPath));
    ASSIGN_OR_RETURN(auto o, tpe_options(s, seed, algorithm == "multivariate-tpe"));
    return std::unique_ptr<Suggester>(new TpeSampler(space, o));
  }
  if (algorithm == "hyperband") {
    RETURN_IF_ERROR(check_known(s, {"random_state", "resource_name", "eta", "r_l"}, kPath));
    ASSIGN_OR_RETURN(auto o, budget_options(space, s, "eta", seed));
    const auto& p = space.parameters[o.resource_index];
    // Katib's r_l is R, the most a configuration gets (its brackets start at
    // R·η^-s, at least 1); without it, the budget parameter's range is the schedule.
    if (s.count("r_l")) {
      ASSIGN_OR_RETURN(o.max_resource, int_setting(s, "r_l", 0, 2, kPath));
      o.min_resource = 1;
    } else {
      o.max_resource = static_cast<int64_t>(p.max);
      o.min_resource = std::max<int64_t>(1, static_cast<int64_t>(p.min));
      if (o.min_resource >= o.max_resource)
        return InvalidArgument(std::string(kPath) + ".r_l: required when '" + p.name +
                               "' spans less than two budgets (its max is the largest budget, "
                               "R; r_l sets R as in Katib)");
    }
    return std::unique_ptr<Suggester>(new Hyperband(space, o));
  }
  if (algorithm == "asha") {
    RETURN_IF_ERROR(check_known(
        s,
        {"random_state", "resource_name", "reduction_factor", "min_resource", "max_resource",
         "sampler", "promotion", "n_startup_trials", "n_EI_candidates", "gamma", "prior_weight"},
        kPath));
    ASSIGN_OR_RETURN(auto o, budget_options(space, s, "reduction_factor", seed));
    const auto& p = space.parameters[o.resource_index];
    ASSIGN_OR_RETURN(o.min_resource,
                     int_setting(s, "min_resource", std::max<int64_t>(1, p.min), 1, kPath));
    ASSIGN_OR_RETURN(o.max_resource,
                     int_setting(s, "max_resource", static_cast<int64_t>(p.max), 1, kPath));
    if (o.min_resource >= o.max_resource)
      return InvalidArgument(std::string(kPath) + ".min_resource: must be below max_resource");
    if (o.max_resource > p.max || o.min_resource < p.min)
      return InvalidArgument(std::string(kPath) + ": min_resource and max_resource must lie in " +
                             "the feasible space of '" + p.name + "'");
    auto sampler = s.find("sampler");
    o.tpe = sampler != s.end() && sampler->second == "tpe";
    if (sampler != s.end() && sampler->second != "tpe" && sampler->second != "random")
      return InvalidArgument(std::string(kPath) + ".sampler: '" + sampler->second.substr(0, 32) +
                             "' is not random or tpe");
    auto promotion = s.find("promotion");
    if (promotion != s.end() && promotion->second != "eager" && promotion->second != "strict")
      return InvalidArgument(std::string(kPath) + ".promotion: '" +
                             promotion->second.substr(0, 32) + "' is not eager or strict");
    o.eager_promotion = promotion != s.end() && promotion->second == "eager";
    ASSIGN_OR_RETURN(o.tpe_options, tpe_options(s, seed, false));
    return std::unique_ptr<Suggester>(new Asha(space, o));
  }
  return InvalidArgument("spec.algorithm.algorithmName: '" + algorithm.substr(0, 64) +
                         "' is not one of random, grid, tpe, multivariate-tpe, hyperband, asha");
}

}  // namespace cadre::tuning

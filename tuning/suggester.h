// One interface for every search algorithm (random, grid, TPE, Hyperband, ASHA):
// given the history, what to run next. Deterministic for a given random_state and
// history; no coordinator, CAF or clock inside, so each is unit-tested alone.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "protocol/status.h"
#include "tuning/search_space.h"
#include "tuning/trial_history.h"

namespace cadre::tuning {

struct Suggestion {
  Assignment assignment;
  // Multi-fidelity: the budget (value of the resource parameter, e.g. epochs).
  int64_t resource = 0;
  // A promotion: continue this trial (same checkpoints) up to `resource`,
  // instead of starting a new one.
  std::optional<int64_t> continue_trial;
  int bracket = 0;
  int rung = 0;
};

enum class Decision {
  kSuggest,    // `suggestion` is set
  kWait,       // nothing to start until running trials report
  kExhausted,  // the search space or schedule is used up (SearchSpaceExhausted)
};

struct Next {
  Decision decision = Decision::kWait;
  Suggestion suggestion;
};

class Suggester {
 public:
  virtual ~Suggester() = default;
  // The next trial to run. Running trials are in `history`, so parallel calls
  // never propose the same point twice.
  virtual Result<Next> next(const TrialHistory& history) = 0;
};

// Katib's algorithmSettings, by name.
using Settings = std::map<std::string, std::string>;

// random, grid, tpe, multivariate-tpe, hyperband, asha. Unknown names and
// settings are errors naming them (`spec.algorithm.algorithmSettings.gama: ...`).
Result<std::unique_ptr<Suggester>> create_suggester(const std::string& algorithm,
                                                    const SearchSpace& space,
                                                    const Settings& settings);

}  // namespace cadre::tuning

// What an experiment has tried so far, as every suggestion algorithm and early
// stopping rule sees it. Algorithms keep no state of their own that the history
// cannot rebuild: after a coordinator restart the supervisor hands them the stored
// history and they continue as if nothing happened.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "tuning/search_space.h"

namespace cadre::tuning {

enum class Goal { kMinimize, kMaximize };

enum class TrialState {
  kRunning,       // launched (pending counts as running: its point is taken)
  kSucceeded,     // ran its budget and reported the objective
  kFailed,        // failed, or its objective never arrived or was not finite
  kEarlyStopped,  // stopped by the early-stopping rule
};

struct TrialRecord {
  int64_t id = 0;
  Assignment assignment;
  TrialState state = TrialState::kRunning;
  // Intermediate objective values by step (epoch or resource unit), as reported.
  std::map<int64_t, double> curve;
  std::optional<double> objective;  // the final value, by the metric strategy
  // Multi-fidelity algorithms: the budget this trial has been given, and where
  // it stands in the algorithm's schedule. A promoted trial keeps its id (and its
  // checkpoint folder) and gets a larger budget.
  int64_t resource = 0;
  int bracket = 0;
  int rung = 0;
};

struct TrialHistory {
  Goal goal = Goal::kMinimize;
  std::vector<TrialRecord> trials;

  // Lower is better whatever the goal.
  double loss(double value) const { return goal == Goal::kMinimize ? value : -value; }
  const TrialRecord* find(int64_t id) const;
};

// The value a trial reported at `step`, or the last one before it.
std::optional<double> value_at(const TrialRecord& trial, int64_t step);

}  // namespace cadre::tuning

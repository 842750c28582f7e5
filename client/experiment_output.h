// What `cadre get experiments`, `cadre get trials` and `cadre describe experiment`
// print, and their `-o json` shapes (docs/cli.md). Keys are camelCase; a key is
// only ever added, never renamed or retyped.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cadre::client {

// NAME PHASE REASON ALGORITHM TRIALS (running/succeeded/failed/stopped of total)
// BEST OBJECTIVE AGE (+ EPOCHS MESSAGE when wide).
std::string experiments_table(const std::vector<protocol::ExperimentStatus>& experiments,
                              int64_t now_ms, bool wide);

// NAME PHASE OBJECTIVE EPOCHS PARAMETERS (+ REASON JOBS when wide), trials in
// creation order.
std::string trials_table(const std::vector<protocol::ExperimentStatus>& experiments, bool wide);

// The describe page: status, counts, the best trial, then each trial with its
// parameters, phase, objective and a learning-curve sparkline, and the events.
std::string describe_experiment(const protocol::ExperimentStatus& experiment, int64_t now_ms);

// The curve's values as a line of block characters scaled between its own min and
// max ("▁▃▅█"), at most `width` wide (longer curves are sampled evenly).
std::string sparkline(const std::map<int64_t, double>& curve, size_t width = 24);

// {name, phase, reason, message, algorithm, objective{metric, type}, createdAt,
//  startedAt, finishedAt, counts{...}, bestTrial{name, parameters, objective,
//  metrics}, epochsConsumed, epochsResumed, conditions[]}; with `detail`, also
//  trials[] and events.
nlohmann::json experiment_to_json(const protocol::ExperimentStatus& experiment, bool detail);
nlohmann::json experiments_to_json(const std::vector<protocol::ExperimentStatus>& experiments);
// {name, experiment, parameters{}, phase, reason, message, objective, metrics{},
//  epochs, epochsResumed, resource, rung, jobs[], curve[{step, value}]}
nlohmann::json trial_to_json(const std::string& experiment, const protocol::TrialStatus& trial);

}  // namespace cadre::client

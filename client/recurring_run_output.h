// How `cadre get|describe recurringruns` print RecurringRuns (docs/cli.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cadre::client {

std::string recurring_runs_table(const std::vector<protocol::RecurringRunStatus>& recurring,
                                 int64_t now_ms);
nlohmann::json recurring_run_to_json(const protocol::RecurringRunStatus& r);
std::string describe_recurring_run(const protocol::RecurringRunStatus& r, int64_t now_ms);

}  // namespace cadre::client

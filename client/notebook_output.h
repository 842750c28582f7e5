// How `cadre get|describe notebooks` print Notebooks (docs/notebooks.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cadre::client {

// NAME STATE NODE GPUS URL IDLE AGE.
std::string notebooks_table(const std::vector<protocol::NotebookStatus>& notebooks, int64_t now_ms);
nlohmann::json notebook_to_json(const protocol::NotebookStatus& n);
std::string describe_notebook(const protocol::NotebookStatus& n, int64_t now_ms);

}  // namespace cadre::client

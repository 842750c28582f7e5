// JSON bodies of the V2 metadata, repository and statistics endpoints.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serving/inference_server.h"

namespace cadre::serving::http {

nlohmann::json server_metadata_json(const std::string& version);
nlohmann::json model_metadata_json(const ModelMetadata& md);
nlohmann::json repository_index_json(const std::vector<ModelIndexEntry>& index);
// Triton's statistics extension body: {"model_stats": [...]}.
nlohmann::json statistics_json(const std::vector<VersionStats>& stats);

}  // namespace cadre::serving::http

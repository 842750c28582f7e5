// JSON values as text, for values that came from outside (a step's output file, a
// spec's literal, a run parameter): invalid UTF-8 is replaced (U+FFFD) rather than
// thrown, so no byte a step writes can take the coordinator down.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cadre::pipelines {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cadre::pipelines

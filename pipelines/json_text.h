// JSON values as text, and back, for values that came from outside (a step's output file, a
// spec's literal, a run parameter): invalid UTF-8 is replaced (U+FFFD) rather than
// thrown, so no byte a step writes can take the coordinator down.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cadre::pipelines {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// At most `max` bytes of `text` for an error message, "..." marking a cut.
inline std::string shortened(const std::string& text, size_t max = 200) {
  return text.size() > max ? text.substr(0, max) + "..." : text;
}

// The object `text` holds; an empty object for no text or anything else (records
// hold only what json_text wrote, so "anything else" is a record from elsewhere).
inline nlohmann::json parse_json_object(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  return v.is_object() ? v : nlohmann::json::object();
}

// The value `text` holds, for showing it: an empty object for no text, and text
// that is not JSON as a JSON string (a step may write any bytes as its output).
inline nlohmann::json parse_json_or_text(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  return v.is_discarded() ? nlohmann::json(text) : v;
}

}  // namespace cadre::pipelines

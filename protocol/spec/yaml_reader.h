// Reads a YAML map field by field, so every error names its field path
// ("spec.template.resources.cpu: 'x' is not a CPU quantity") and unknown fields are
// refused rather than silently ignored (kubectl's strict validation).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "protocol/status.h"

namespace cadre::spec {

class YamlReader {
 public:
  // `node` must be a map; `path` is its field path ("spec.template").
  static Result<YamlReader> Map(const YAML::Node& node, const std::string& path);

  const std::string& path() const { return path_; }
  std::string child_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  bool has(const std::string& key) const;
  YAML::Node node(const std::string& key);  // marks the key as read

  Result<std::optional<std::string>> string(const std::string& key);
  Result<std::optional<int64_t>> integer(const std::string& key, int64_t min, int64_t max);
  Result<std::optional<bool>> boolean(const std::string& key);
  // A scalar kept as text (quantities such as "500m" or 2).
  Result<std::optional<std::string>> scalar(const std::string& key);
  Result<std::optional<std::vector<std::string>>> string_list(const std::string& key);
  Result<std::optional<std::map<std::string, std::string>>> string_map(const std::string& key);
  Result<std::optional<YamlReader>> map(const std::string& key);

  // Fails on the first key that was never read: "spec.templat: unknown field".
  Status reject_unknown() const;
  // Fails on the first key not in `known`; called before reading, so a typo is
  // reported as itself rather than as the required field it hid.
  Status only(std::initializer_list<const char*> known) const;

 private:
  YamlReader(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {}
  // A key past 64 characters is shortened: errors never echo a huge field back.
  Status error(const std::string& key, const std::string& what) const {
    return InvalidArgument(child_path(key.size() > 64 ? key.substr(0, 64) + "..." : key) + ": " +
                           what);
  }

  YAML::Node node_;
  std::string path_;
  std::set<std::string> read_;
};

// A value quoted for an error message: 'value', or its first 64 characters and its
// size when longer, so a 10 MB field is not echoed back whole.
std::string quote_value(const std::string& value);

// DNS-1123 label: lowercase alphanumerics and '-', starting and ending alphanumeric,
// at most 63 characters (Kubernetes object names).
bool is_dns_label(const std::string& name);

}  // namespace cadre::spec

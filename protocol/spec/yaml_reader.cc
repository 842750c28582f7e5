#include "protocol/spec/yaml_reader.h"

#include <cctype>

namespace cadre::spec {

Result<YamlReader> YamlReader::Map(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    return InvalidArgument((path.empty() ? std::string("manifest") : path) + ": must be a map");
  }
  return YamlReader(node, path);
}

bool YamlReader::has(const std::string& key) const {
  const YAML::Node child = node_[key];
  return child.IsDefined() && !child.IsNull();
}

YAML::Node YamlReader::node(const std::string& key) {
  read_.insert(key);
  return node_[key];
}

Result<std::optional<std::string>> YamlReader::string(const std::string& key) {
  const YAML::Node child = node(key);
  if (!child.IsDefined() || child.IsNull()) return std::optional<std::string>();
  if (!child.IsScalar()) return error(key, "must be a string");
  return std::optional<std::string>(child.Scalar());
}

Result<std::optional<std::string>> YamlReader::scalar(const std::string& key) {
  return string(key);
}

Result<std::optional<int64_t>> YamlReader::integer(const std::string& key, int64_t min,
                                                   int64_t max) {
  const YAML::Node child = node(key);
  if (!child.IsDefined() || child.IsNull()) return std::optional<int64_t>();
  int64_t value = 0;
  if (!child.IsScalar() || !YAML::convert<int64_t>::decode(child, value)) {
    return error(key,
                 "must be an integer, got " + quote_value(child.IsScalar() ? child.Scalar() : ""));
  }
  if (value < min) return error(key, "must be >= " + std::to_string(min));
  if (value > max) return error(key, "must be <= " + std::to_string(max));
  return std::optional<int64_t>(value);
}

Result<std::optional<bool>> YamlReader::boolean(const std::string& key) {
  const YAML::Node child = node(key);
  if (!child.IsDefined() || child.IsNull()) return std::optional<bool>();
  bool value = false;
  if (!child.IsScalar() || !YAML::convert<bool>::decode(child, value)) {
    return error(key, "must be true or false");
  }
  return std::optional<bool>(value);
}

Result<std::optional<std::vector<std::string>>> YamlReader::string_list(const std::string& key) {
  const YAML::Node child = node(key);
  if (!child.IsDefined() || child.IsNull()) return std::optional<std::vector<std::string>>();
  if (!child.IsSequence()) return error(key, "must be a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < child.size(); ++i) {
    if (!child[i].IsScalar()) {
      return error(key + "[" + std::to_string(i) + "]", "must be a string");
    }
    out.push_back(child[i].Scalar());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::map<std::string, std::string>>> YamlReader::string_map(
    const std::string& key) {
  const YAML::Node child = node(key);
  using Out = std::optional<std::map<std::string, std::string>>;
  if (!child.IsDefined() || child.IsNull()) return Out();
  if (!child.IsMap()) return error(key, "must be a map of strings");
  std::map<std::string, std::string> out;
  for (const auto& entry : child) {
    const std::string name = entry.first.Scalar();
    if (!entry.second.IsScalar()) return error(key + "." + name, "must be a string");
    out[name] = entry.second.Scalar();
  }
  return Out(std::move(out));
}

Result<std::optional<YamlReader>> YamlReader::map(const std::string& key) {
  const YAML::Node child = node(key);
  if (!child.IsDefined() || child.IsNull()) return std::optional<YamlReader>();
  ASSIGN_OR_RETURN(YamlReader reader, Map(child, child_path(key)));
  return std::optional<YamlReader>(std::move(reader));
}

Status YamlReader::reject_unknown() const {
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    if (read_.count(key) == 0) return error(key, "unknown field");
  }
  return Status::Ok();
}

Status YamlReader::only(std::initializer_list<const char*> known) const {
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) return error(key, "unknown field");
  }
  return Status::Ok();
}

std::string quote_value(const std::string& value) {
  constexpr size_t kShown = 64;
  if (value.size() <= kShown) return "'" + value + "'";
  return "'" + value.substr(0, kShown) + "...' (" + std::to_string(value.size()) + " bytes)";
}

bool is_dns_label(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return name.front() != '-' && name.back() != '-';
}

}  // namespace cadre::spec

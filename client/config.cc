#include "client/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace cadre::client {
namespace fs = std::filesystem;

std::vector<ConfigCandidate> config_candidates(const ConfigSources& sources) {
  if (!sources.flag.empty()) return {{sources.flag, true}};
  if (!sources.env.empty()) return {{sources.env, true}};
  std::vector<ConfigCandidate> candidates;
  if (!sources.cwd.empty())
    candidates.push_back({(fs::path(sources.cwd) / ".cadre/config").string()});
  if (!sources.home.empty()) {
    candidates.push_back({(fs::path(sources.home) / ".cadre/config").string()});
  }
  return candidates;
}

Result<std::string> resolve_config_path(const ConfigSources& sources) {
  std::vector<std::string> looked;
  for (const ConfigCandidate& candidate : config_candidates(sources)) {
    std::error_code ec;
    if (fs::exists(candidate.path, ec) && !fs::is_directory(candidate.path, ec)) {
      return candidate.path;
    }
    if (candidate.explicit_choice) {
      const char* from = !sources.flag.empty() ? "--config" : "$CADRE_CONFIG";
      return NotFound("config file " + candidate.path + " (from " + from + ") does not exist");
    }
    looked.push_back(candidate.path);
  }
  std::string where;
  for (const std::string& path : looked) where += (where.empty() ? "" : ", ") + path;
  return NotFound("no client config found (looked for " + where +
                  "); run `cadre local up` to start a local cluster, or pass --config FILE");
}

namespace {

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path(path).is_absolute() || base_dir.empty()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// Reads one scalar key, naming the key and the file when the value has the wrong type.
template <typename T>
Status read_key(const YAML::Node& root, const char* key, const std::string& source, T* out) {
  const YAML::Node node = root[key];
  if (!node) return Status::Ok();
  try {
    *out = node.as<T>();
    return Status::Ok();
  } catch (const YAML::Exception&) {
    return InvalidArgument(source + ": " + key + ": has the wrong type");
  }
}

}  // namespace

Result<ClientConfig> parse_config(const std::string& yaml_text, const std::string& base_dir,
                                  const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": not valid YAML: " + e.what());
  }
  ClientConfig config;
  config.source = source;
  if (root.IsNull()) return config;
  if (!root.IsMap()) return InvalidArgument(source + ": must be a YAML map of settings");
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key != "coordinator" && key != "server_key" && key != "key" && key != "timeout_seconds" &&
        key != "insecure") {
      return InvalidArgument(source + ": unknown setting '" + key +
                             "' (known: coordinator, server_key, key, timeout_seconds, insecure)");
    }
  }
  RETURN_IF_ERROR(read_key(root, "coordinator", source, &config.coordinator));
  RETURN_IF_ERROR(read_key(root, "server_key", source, &config.server_key));
  RETURN_IF_ERROR(read_key(root, "key", source, &config.key));
  RETURN_IF_ERROR(read_key(root, "timeout_seconds", source, &config.timeout_seconds));
  RETURN_IF_ERROR(read_key(root, "insecure", source, &config.insecure));
  if (config.timeout_seconds <= 0) {
    return InvalidArgument(source + ": timeout_seconds: must be > 0");
  }
  if (!config.insecure && (config.server_key.empty() || config.key.empty())) {
    return InvalidArgument(source + ": server_key and key are required unless insecure: true");
  }
  config.server_key = resolve_path(config.server_key, base_dir);
  config.key = resolve_path(config.key, base_dir);
  return config;
}

Result<ClientConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), fs::path(path).parent_path().string(), path);
}

std::string render_config(const ClientConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "coordinator" << YAML::Value << config.coordinator;
  if (config.insecure) {
    out << YAML::Key << "insecure" << YAML::Value << true;
  } else {
    out << YAML::Key << "server_key" << YAML::Value << config.server_key;
    out << YAML::Key << "key" << YAML::Value << config.key;
  }
  out << YAML::Key << "timeout_seconds" << YAML::Value << config.timeout_seconds;
  out << YAML::EndMap;
  return std::string("# Cadre client config (see docs/cli.md)\n") + out.c_str() + "\n";
}

}  // namespace cadre::client

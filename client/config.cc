#include "client/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>

#include "protocol/config_file.h"

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

// The client config's keys, declared once, read by the same mechanism as the
// daemons' --config files (protocol/config_file.h).
void declare_settings(CLI::App& app, ClientConfig& c) {
  app.add_option("--coordinator", c.coordinator, "the coordinator's client endpoint");
  app.add_option("--server_key", c.server_key, "the coordinator's public key file");
  app.add_option("--key", c.key, "this client's key pair file");
  app.add_option("--timeout_seconds", c.timeout_seconds, "how long a request may take");
  app.add_flag("--insecure", c.insecure, "no CURVE (a coordinator started with --insecure)");
  app.add_option("--ingress", c.ingress, "the ingress's URL, for cadre predict");
  app.add_option("--token_file", c.token_file, "a file holding a Cadre token for the ingress");
  app.add_option("--ingress_ca", c.ingress_ca,
                 "PEM CA certificates for an https ingress (default: the system's)");
  app.add_option("--ingress_grpc", c.ingress_grpc, "host:port of the ingress's gRPC port");
}

}  // namespace

Result<ClientConfig> parse_config(const std::string& yaml_text, const std::string& base_dir,
                                  const std::string& source) {
  ClientConfig config;
  config.source = source;
  CLI::App app{"cadre client config"};
  declare_settings(app, config);
  ASSIGN_OR_RETURN(auto flags, cadre::config::text_flags(app, yaml_text, source));
  RETURN_IF_ERROR(cadre::config::apply_flags(app, flags).annotate(source));
  if (config.timeout_seconds <= 0) {
    return InvalidArgument(source + ": timeout_seconds: must be > 0");
  }
  if (!config.insecure && (config.server_key.empty() || config.key.empty())) {
    return InvalidArgument(source + ": server_key and key are required unless insecure: true");
  }
  config.server_key = resolve_path(config.server_key, base_dir);
  config.key = resolve_path(config.key, base_dir);
  if (!config.token_file.empty()) config.token_file = resolve_path(config.token_file, base_dir);
  if (!config.ingress_ca.empty()) config.ingress_ca = resolve_path(config.ingress_ca, base_dir);
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
  if (!config.ingress.empty()) out << YAML::Key << "ingress" << YAML::Value << config.ingress;
  if (!config.token_file.empty()) {
    out << YAML::Key << "token_file" << YAML::Value << config.token_file;
  }
  if (!config.ingress_ca.empty()) {
    out << YAML::Key << "ingress_ca" << YAML::Value << config.ingress_ca;
  }
  if (!config.ingress_grpc.empty()) {
    out << YAML::Key << "ingress_grpc" << YAML::Value << config.ingress_grpc;
  }
  out << YAML::EndMap;
  return std::string("# Cadre client config (see docs/cli.md)\n") + out.c_str() + "\n";
}

}  // namespace cadre::client

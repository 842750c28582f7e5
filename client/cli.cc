#include "client/cli.h"

#include <chrono>
#include <cstdlib>

#include "client/config.h"
#include "client/coordinator_client.h"

namespace cadre::client {

Result<ClientConfig> client_config(const GlobalFlags& flags) {
  ConfigSources sources;
  sources.flag = flags.config;
  if (const char* env = std::getenv("CADRE_CONFIG")) sources.env = env;
  sources.cwd = ".";
  if (const char* home = std::getenv("HOME")) sources.home = home;
  ASSIGN_OR_RETURN(std::string path, resolve_config_path(sources));
  return load_config(path);
}

namespace {

Result<std::unique_ptr<Coordinator>> connect(const GlobalFlags& flags) {
  ASSIGN_OR_RETURN(ClientConfig config, client_config(flags));
  CoordinatorClientOptions options;
  options.endpoint = config.coordinator;
  options.server_key_file = config.server_key;
  options.key_file = config.key;
  options.insecure = config.insecure;
  const double seconds = flags.request_timeout > 0 ? flags.request_timeout : config.timeout_seconds;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  ASSIGN_OR_RETURN(auto client, CoordinatorClient::Create(options));
  return std::unique_ptr<Coordinator>(std::move(client));
}

}  // namespace

Outcome with_coordinator(const GlobalFlags& flags,
                         const std::function<Status(Coordinator&)>& command) {
  auto coordinator = connect(flags);
  if (!coordinator.ok()) return {coordinator.status()};
  return {command(**coordinator)};
}

}  // namespace cadre::client

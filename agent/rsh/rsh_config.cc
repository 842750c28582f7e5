#include "agent/rsh/rsh_config.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "protocol/bind_address.h"

namespace cadre::agent::rsh {
namespace {

// OpenSSH's options that take an argument ("-p 22" or "-p22"); every other
// letter is a flag ("-x", "-T", "-xT").
constexpr std::string_view kSshOptionsWithArgument = "BbcDEeFIiJLlmOoPpQRSWw";

Result<int> parse_int(const std::string& text, const std::string& what, int min, int max) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return InvalidArgument(what + ": '" + text + "' is not a number in " + std::to_string(min) +
                           ".." + std::to_string(max));
  }
  return value;
}

Result<std::string> require_token(const EnvLookup& env) {
  std::optional<std::string> token = env("CADRE_JOB_TOKEN");
  if (!token || token->empty()) {
    return FailedPrecondition("CADRE_JOB_TOKEN is not set: the job's shared secret is required");
  }
  return *token;
}

std::string replica_entity(const EnvLookup& env) {
  const std::string job = env("CADRE_JOB").value_or("-");
  std::string type = env("CADRE_REPLICA_TYPE").value_or("replica");
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string index = env("CADRE_REPLICA_INDEX").value_or("0");
  return "job=" + job + " replica=" + type + "-" + index;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) names.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

bool is_serve_invocation(const std::vector<std::string>& args) {
  return !args.empty() && args[0] == "serve";
}

Result<ServeConfig> parse_serve_config(const std::vector<std::string>& args, const EnvLookup& env) {
  ServeConfig config;
  std::optional<int> port;
  bool bind_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) return InvalidArgument(flag + ": unknown flag or missing value");
    const std::string& value = args[++i];
    if (flag == "--port") {
      ASSIGN_OR_RETURN(port, parse_int(value, "--port", 0, 65535));
    } else if (flag == "--bind") {
      config.bind_address = value;
      bind_given = true;
    } else if (flag == "--max-sessions") {
      ASSIGN_OR_RETURN(config.max_sessions, parse_int(value, "--max-sessions", 1, 4096));
    } else if (flag == "--log-level") {
      config.log_level = value;
    } else {
      return InvalidArgument(flag + ": unknown flag");
    }
  }
  ASSIGN_OR_RETURN(config.token, require_token(env));
  config.entity = replica_entity(env);
  config.command_path = env("PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  std::error_code ignored;
  const std::string self_dir =
      std::filesystem::read_symlink("/proc/self/exe", ignored).parent_path().string();
  if (!self_dir.empty() &&
      (":" + config.command_path + ":").find(":" + self_dir + ":") == std::string::npos) {
    config.command_path += ":" + self_dir;
  }
  if (port) {
    config.port = *port;
    return config;
  }
  const std::optional<std::string> peers = env("CADRE_PEERS");
  const std::optional<std::string> rank = env("CADRE_RANK");
  if (!peers || !rank) {
    return InvalidArgument("no --port, and CADRE_PEERS/CADRE_RANK are not both set");
  }
  ASSIGN_OR_RETURN(const int r, parse_int(*rank, "CADRE_RANK", 0, 1 << 20));
  ASSIGN_OR_RETURN(const Endpoint own, own_endpoint_from_peers(*peers, r));
  config.port = own.port;
  if (!bind_given) {
    // A host this node cannot resolve itself leaves all interfaces: every
    // connection must prove the job token first anyway.
    auto address = protocol::bind_address_for(own.host);
    config.bind_address = !address.ok() || *address == "*" ? "0.0.0.0" : *address;
  }
  return config;
}

Result<ClientConfig> parse_client_config(const std::vector<std::string>& args,
                                         const EnvLookup& env) {
  ClientConfig config;
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    if (args[i] == "--") {
      ++i;
      break;
    }
    // Walk a cluster of letters; the first that takes an argument ends it.
    for (size_t j = 1; j < args[i].size(); ++j) {
      if (kSshOptionsWithArgument.find(args[i][j]) == std::string_view::npos) continue;
      if (j + 1 == args[i].size() && ++i >= args.size()) {
        return InvalidArgument(std::string("option -") + args[i - 1][j] + " needs an argument");
      }
      break;
    }
  }
  if (i >= args.size()) return InvalidArgument("no HOST given");
  config.host = args[i];
  if (const size_t at = config.host.rfind('@'); at != std::string::npos) {
    config.host.erase(0, at + 1);
  }
  for (++i; i < args.size(); ++i) config.command += (config.command.empty() ? "" : " ") + args[i];
  if (config.command.empty()) {
    return InvalidArgument("no COMMAND for " + config.host +
                           ": interactive shells are not offered");
  }

  const std::optional<std::string> hosts_text = env("CADRE_MPI_HOSTS");
  if (!hosts_text) return FailedPrecondition("CADRE_MPI_HOSTS is not set");
  ASSIGN_OR_RETURN(HostMap hosts, parse_host_map(*hosts_text));
  const auto found = hosts.find(config.host);
  if (found == hosts.end()) {
    return NotFound("host '" + config.host + "' is not in CADRE_MPI_HOSTS ('" + *hosts_text + "')");
  }
  config.endpoint = found->second;
  ASSIGN_OR_RETURN(config.token, require_token(env));
  if (const auto timeout = env("CADRE_RSH_CONNECT_TIMEOUT_S")) {
    ASSIGN_OR_RETURN(const int seconds,
                     parse_int(*timeout, "CADRE_RSH_CONNECT_TIMEOUT_S", 0, 24 * 3600));
    config.connect_timeout_s = seconds;
  }
  if (const auto names = env("CADRE_RSH_SEND_ENV")) {
    config.send_env = split_names(*names);
    for (const auto& name : config.send_env) {
      if (auto value = env(name)) config.env.emplace_back(name, *value);
    }
  }
  return config;
}

}  // namespace cadre::agent::rsh

// The client's configuration: where the coordinator is and which keys prove who
// we are. Declared once here (STYLE.md §5): each setting with its default and a
// one-line doc; parsed at start-up by main and passed down.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::client {

// The YAML keys of a client config file (e.g. the one `cadre local up` writes).
struct ClientConfig {
  // `coordinator`: the coordinator's client endpoint.
  std::string coordinator = "tcp://127.0.0.1:7071";
  // `server_key`: file with the coordinator's CURVE public key (.pub or .key).
  std::string server_key;
  // `key`: this client's CURVE key pair file (.key); its public half must be in the
  // coordinator's client allowlist.
  std::string key;
  // `timeout_seconds`: how long one request waits for an answer.
  double timeout_seconds = 10;
  // `insecure`: talk plain ZeroMQ without CURVE (only to a coordinator run that way).
  bool insecure = false;
  // `ingress`: the URL of the ingress (`cadre predict` sends requests there).
  std::string ingress;
  // `token_file`: a file holding a Cadre token (`cadre tokens create`) the ingress accepts.
  std::string token_file;
  // `ingress_ca`: PEM certificates an https ingress's certificate is checked against
  // (its CA, or the self-signed certificate of `cadre local up --tls`); empty: the
  // system's trusted CAs.
  std::string ingress_ca;
  // `ingress_grpc`: host:port of the ingress's gRPC port (the Open Inference
  // Protocol's GRPCInferenceService), TLS when `ingress` is https.
  std::string ingress_grpc;
  // Where this configuration was read from, for error messages; empty if defaults.
  std::string source;
};

// The places a config file may come from, in priority order. main fills these from
// flags and the environment so the resolution itself stays pure and testable.
struct ConfigSources {
  std::string flag;  // --config FILE
  std::string env;   // $CADRE_CONFIG
  std::string cwd;   // the working directory: ./.cadre/config
  std::string home;  // $HOME: ~/.cadre/config
};

// One candidate path and whether it was named explicitly (flag or environment):
// an explicit file must exist, an implicit one is merely looked for.
struct ConfigCandidate {
  std::string path;
  bool explicit_choice = false;
};

// --config, then $CADRE_CONFIG, then ./.cadre/config, then ~/.cadre/config. An
// explicit choice hides the rest: a typo in --config must not silently fall back.
std::vector<ConfigCandidate> config_candidates(const ConfigSources& sources);

// The first candidate that exists, or an error telling the user how to get one.
Result<std::string> resolve_config_path(const ConfigSources& sources);

// Parses config YAML. Relative key paths are taken relative to `base_dir` (the
// config file's folder), so a config can travel with its keys.
Result<ClientConfig> parse_config(const std::string& yaml_text, const std::string& base_dir,
                                  const std::string& source);

Result<ClientConfig> load_config(const std::string& path);

// The YAML `cadre local up` writes.
std::string render_config(const ClientConfig& config);

}  // namespace cadre::client

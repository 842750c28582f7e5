#include "client/manifest.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace cadre::client {
namespace {

bool is_separator(const std::string& line) {
  if (line.rfind("---", 0) != 0) return false;
  return line.find_first_not_of(" \t\r", 3) == std::string::npos;
}

// True when the document has something besides comments and blank lines.
bool has_content(const std::string& document) {
  std::istringstream in(document);
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#') return true;
  }
  return false;
}

// The KFP compiler's second document: the pipeline's Kubernetes settings
// (kfp-kubernetes), `platforms:` and nothing else.
bool is_platform_spec(const std::string& document) {
  try {
    const YAML::Node root = YAML::Load(document);
    return root.IsMap() && root.size() == 1 && root["platforms"];
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

std::vector<std::string> split_documents(const std::string& text) {
  std::vector<std::string> documents;
  std::string current;
  std::istringstream in(text);
  std::string line;
  auto flush = [&] {
    if (!has_content(current)) {
      current.clear();
      return;
    }
    // A platform spec travels with the pipeline spec it belongs to.
    if (!documents.empty() && is_platform_spec(current)) {
      documents.back() += "---\n" + current;
    } else {
      documents.push_back(current);
    }
    current.clear();
  };
  while (std::getline(in, line)) {
    if (is_separator(line)) {
      flush();
      continue;
    }
    current += line;
    current += '\n';
  }
  flush();
  return documents;
}

Result<ManifestIdentity> manifest_identity(const std::string& document, size_t index) {
  const std::string where = "document " + std::to_string(index + 1);
  try {
    const YAML::Node root = YAML::Load(document);
    if (!root.IsMap()) return InvalidArgument(where + ": not a YAML map");
    ManifestIdentity identity;
    // The KFP compiler's output names itself in pipelineInfo (a Pipeline).
    if (!root["apiVersion"] && root["pipelineInfo"] && root["pipelineInfo"].IsMap()) {
      const YAML::Node name = root["pipelineInfo"]["name"];
      if (!name || !name.IsScalar())
        return InvalidArgument(where + ": pipelineInfo.name: required");
      return ManifestIdentity{"Pipeline", name.as<std::string>()};
    }
    if (root["kind"] && root["kind"].IsScalar()) identity.kind = root["kind"].as<std::string>();
    const YAML::Node metadata = root["metadata"];
    if (metadata && metadata.IsMap() && metadata["name"] && metadata["name"].IsScalar()) {
      identity.name = metadata["name"].as<std::string>();
    }
    if (identity.kind.empty()) return InvalidArgument(where + ": kind: required");
    if (identity.name.empty()) return InvalidArgument(where + ": metadata.name: required");
    return identity;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(where + ": not valid YAML: " + e.what());
  }
}

Result<std::string> read_manifest_source(const std::string& file) {
  std::stringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(file);
  if (!in) return NotFound("cannot read " + file);
  text << in.rdbuf();
  return text.str();
}

}  // namespace cadre::client

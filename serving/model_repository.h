// A Triton-layout model repository on disk: DIR/<model>/config.pbtxt (optional)
// and numeric version folders DIR/<model>/<version>/ holding the backend's model
// file. Reading it resolves a model's complete config (parsed, defaulted,
// auto-completed from the model file, validated) and the versions to serve.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "serving/backend.h"
#include "serving/model_config.h"

namespace cadre::serving {

struct ResolvedModel {
  ModelConfig config;
  const Backend* backend = nullptr;
  // Version -> its model file, for the versions the policy serves.
  std::map<int64_t, std::string> files;
  // Version -> a fingerprint of its folder and of config.pbtxt (poll mode
  // reloads a version whose fingerprint changed).
  std::map<int64_t, std::string> fingerprints;
};

class ModelRepository {
 public:
  explicit ModelRepository(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // Folder names that look like models (valid names, hidden folders skipped).
  Result<std::vector<std::string>> model_names() const;
  // Everything needed to load `name`; errors say which file or field is wrong.
  Result<ResolvedModel> resolve(const std::string& name) const;

 private:
  std::string root_;
};

// Model names are path segments in URLs: letters, digits, '_', '-', '.', at most 128.
bool valid_model_name(const std::string& name);

}  // namespace cadre::serving

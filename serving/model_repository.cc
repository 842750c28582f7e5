#include "serving/model_repository.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cadre::serving {
namespace fs = std::filesystem;
namespace {

constexpr uintmax_t kMaxConfigBytes = 1 << 20;

std::optional<int64_t> version_number(const std::string& folder) {
  if (folder.empty() || folder.size() > 18 ||
      !std::all_of(folder.begin(), folder.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const int64_t v = std::stoll(folder);
  if (v < 1) return std::nullopt;
  return v;
}

std::string file_stamp(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return path.filename().string() + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// Size and modification time of every file in `dir` (not recursive; model files
// sit at the version folder's top).
std::string fingerprint(const fs::path& dir) {
  std::vector<std::string> parts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) parts.push_back(file_stamp(e.path()));
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p + ";";
  return out;
}

Result<std::string> read_config_text(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return NotFound(path.string() + ": " + ec.message());
  if (size > kMaxConfigBytes)
    return InvalidArgument(path.string() + ": " + std::to_string(size) +
                           " bytes, more than the 1 MiB a config may have");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The model's config.pbtxt if it has one (its stamp, for the fingerprint), with
// Triton's defaults filled in either way.
Status read_model_config(const std::string& name, const fs::path& config_path, ModelConfig* config,
                         std::string* stamp) {
  std::error_code ec;
  if (fs::exists(config_path, ec)) {
    ASSIGN_OR_RETURN(const std::string text, read_config_text(config_path));
    ASSIGN_OR_RETURN(*config, parse_model_config(text, config_path.string()));
    *stamp = file_stamp(config_path);
    if (!config->name().empty() && config->name() != name)
      return InvalidArgument(config_path.string() + ": name: '" + config->name().substr(0, 64) +
                             "' must match the model's folder '" + name + "'");
  }
  apply_config_defaults(name, config);
  return Status::Ok();
}

// The numeric version folders present, ascending; at least one.
Result<std::vector<int64_t>> version_folders(const std::string& name, const fs::path& dir) {
  std::vector<int64_t> available;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory(ec)) continue;
    if (auto v = version_number(e.path().filename().string())) available.push_back(*v);
  }
  if (available.empty())
    return NotFound("model '" + name + "' has no numeric version folder in " + dir.string());
  std::sort(available.begin(), available.end());
  return available;
}

// The backend: named by the config, else recognised by the newest version's file.
Status choose_backend(const std::string& name, const fs::path& newest, ResolvedModel* m) {
  std::error_code ec;
  if (m->config.backend().empty()) {
    for (const char* candidate : {"cadre", "pytorch"}) {
      if (fs::exists(newest / backend_model_filename(candidate), ec)) {
        m->config.set_backend(candidate);
        break;
      }
    }
    if (m->config.backend().empty())
      return InvalidArgument("model '" + name +
                             "': no backend in config.pbtxt and no model.cadre or model.pt in " +
                             newest.string());
  }
  auto backend = find_backend(m->config.backend());
  if (!backend.ok()) return backend.status().annotate("model '" + name + "'");
  m->backend = *backend;
  return Status::Ok();
}

}  // namespace

bool valid_model_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

Result<std::vector<std::string>> ModelRepository::model_names() const {
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  if (ec) return NotFound("model repository " + root_ + ": " + ec.message());
  std::vector<std::string> names;
  for (const auto& e : it) {
    const std::string name = e.path().filename().string();
    if (e.is_directory(ec) && valid_model_name(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<ResolvedModel> ModelRepository::resolve(const std::string& name) const {
  if (!valid_model_name(name))
    return InvalidArgument("model name '" + name.substr(0, 64) +
                           "': use letters, digits, '_', '-' and '.'");
  const fs::path dir = fs::path(root_) / name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return NotFound("model '" + name + "' is not in the repository " + root_);

  ResolvedModel m;
  const fs::path config_path = dir / "config.pbtxt";
  std::string config_stamp;
  RETURN_IF_ERROR(read_model_config(name, config_path, &m.config, &config_stamp));
  ASSIGN_OR_RETURN(const std::vector<int64_t> available, version_folders(name, dir));
  RETURN_IF_ERROR(choose_backend(name, dir / std::to_string(available.back()), &m));
  const std::string filename = m.config.default_model_filename().empty()
                                   ? m.backend->default_model_filename()
                                   : m.config.default_model_filename();
  if (filename.find('/') != std::string::npos || filename == "..")
    return InvalidArgument("default_model_filename: '" + filename.substr(0, 64) +
                           "' must be a file name inside the version folder");

  const std::vector<int64_t> served = versions_to_serve(m.config, available);
  if (served.empty())
    return NotFound("model '" + name + "': the version policy selects none of the versions " +
                    "present");
  for (int64_t v : served) {
    const fs::path vdir = dir / std::to_string(v);
    const fs::path file = vdir / filename;
    if (!fs::is_regular_file(file, ec))
      return NotFound("model '" + name + "' version " + std::to_string(v) + ": " + file.string() +
                      " does not exist");
    m.files[v] = file.string();
    m.fingerprints[v] = config_stamp + "|" + fingerprint(vdir);
  }
  // Auto-complete from the newest served version (Triton completes from the model).
  RETURN_IF_ERROR(m.backend->autocomplete(m.files.rbegin()->second, &m.config)
                      .annotate("model '" + name + "'"));
  RETURN_IF_ERROR(validate_model_config(m.config).annotate(config_path.string()));
  return m;
}

}  // namespace cadre::serving

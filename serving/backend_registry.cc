#include <dlfcn.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "protocol/install_layout.h"
#include "serving/backend.h"
#include "serving/backends/cadre/cadre_backend.h"

namespace cadre::serving {
namespace {

struct KnownBackend {
  const char* name;
  const char* model_filename;
  bool built_in;
};

// Every backend cadre-serve knows, and what a repository folder of each holds.
constexpr KnownBackend kKnown[] = {
    {"cadre", "model.cadre", true},
    {"pytorch", "model.pt", false},
};

const KnownBackend* known(const std::string& name) {
  for (const auto& k : kKnown)
    if (name == k.name) return &k;
  return nullptr;
}

std::filesystem::path backend_directory() { return cadre_library_directory() / "backends"; }

// Loads a backend library once and keeps it for the life of the process (libtorch
// cannot be unloaded safely). A failure is remembered too: the library does not
// appear while cadre-serve runs.
Result<const Backend*> load(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, Result<const Backend*>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = loaded.find(name); it != loaded.end()) return it->second;
  const auto path = backend_directory() / ("libcadre_backend_" + name + ".so");
  auto result = [&]() -> Result<const Backend*> {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      return FailedPrecondition(
          "the " + name + " backend cannot be loaded from " + path.string() + ": " +
          (why ? why : "unknown error") +
          (name == "pytorch" ? " (cadre-serve built without libtorch?)" : ""));
    }
    auto create = reinterpret_cast<BackendEntryPoint>(dlsym(handle, kBackendEntryPoint));
    const Backend* backend = create ? create() : nullptr;
    if (!backend || backend->name() != name)
      return FailedPrecondition(path.string() + " is not the " + name + " backend (no " +
                                kBackendEntryPoint + ", or another backend's)");
    return backend;
  }();
  loaded.emplace(name, result);
  return result;
}

}  // namespace

Result<const Backend*> find_backend(const std::string& name) {
  const KnownBackend* k = known(name);
  if (!k)
    return InvalidArgument("backend: '" + name.substr(0, 64) +
                           "' is not a cadre-serve backend (cadre, pytorch)");
  if (k->built_in) {
    static const CadreBackend cadre;
    return &cadre;
  }
  return load(name);
}

std::string backend_model_filename(const std::string& name) {
  const KnownBackend* k = known(name);
  return k ? k->model_filename : "";
}

}  // namespace cadre::serving

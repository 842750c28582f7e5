#include "serving/backend.h"
#include "serving/backends/cadre/cadre_backend.h"
#ifdef CADRE_WITH_TORCH
#include "serving/backends/pytorch/pytorch_backend.h"
#endif

namespace cadre::serving {
namespace {

const std::vector<const Backend*>& backends() {
  static const CadreBackend cadre;
#ifdef CADRE_WITH_TORCH
  static const PyTorchBackend pytorch;
  static const std::vector<const Backend*> all{&cadre, &pytorch};
#else
  static const std::vector<const Backend*> all{&cadre};
#endif
  return all;
}

}  // namespace

const Backend* find_backend(const std::string& name) {
  for (const Backend* b : backends())
    if (b->name() == name) return b;
  return nullptr;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const Backend* b : backends()) names.push_back(b->name());
  return names;
}

}  // namespace cadre::serving

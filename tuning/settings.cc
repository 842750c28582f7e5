#include "tuning/settings.h"

#include <cmath>
#include <cstdlib>

namespace cadre::tuning {

Status check_known(const Settings& settings, std::initializer_list<const char*> known,
                   const std::string& path) {
  for (const auto& [name, value] : settings) {
    bool ok = false;
    std::string list;
    for (const char* k : known) {
      ok = ok || name == k;
      list += (list.empty() ? "" : ", ") + std::string(k);
    }
    if (!ok)
      return InvalidArgument(path + "." + name.substr(0, 64) + ": not a setting of this " +
                             "algorithm (" + (list.empty() ? "it takes none" : list) + ")");
  }
  return Status::Ok();
}

Result<int64_t> int_setting(const Settings& settings, const std::string& name, int64_t fallback,
                            int64_t min, const std::string& path) {
  auto it = settings.find(name);
  if (it == settings.end()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0')
    return InvalidArgument(path + "." + name + ": '" + it->second.substr(0, 32) +
                           "' is not an integer");
  if (v < min)
    return InvalidArgument(path + "." + name + ": must be >= " + std::to_string(min) + ", got " +
                           it->second);
  return static_cast<int64_t>(v);
}

Result<double> double_setting(const Settings& settings, const std::string& name, double fallback,
                              double min, double max, const std::string& path) {
  auto it = settings.find(name);
  if (it == settings.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || !std::isfinite(v))
    return InvalidArgument(path + "." + name + ": '" + it->second.substr(0, 32) +
                           "' is not a number");
  if (v < min || v > max)
    return InvalidArgument(path + "." + name + ": must be in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "], got " + it->second);
  return v;
}

}  // namespace cadre::tuning

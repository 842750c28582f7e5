// Reading Katib's algorithmSettings (name/value strings): unknown names refused,
// values parsed and range-checked, errors naming `PATH.NAME`.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "protocol/status.h"
#include "tuning/suggester.h"

namespace cadre::tuning {

Status check_known(const Settings& settings, std::initializer_list<const char*> known,
                   const std::string& path);
Result<int64_t> int_setting(const Settings& settings, const std::string& name, int64_t fallback,
                            int64_t min, const std::string& path);
Result<double> double_setting(const Settings& settings, const std::string& name, double fallback,
                              double min, double max, const std::string& path);

}  // namespace cadre::tuning

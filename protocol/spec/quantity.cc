#include "protocol/spec/quantity.h"

#include "protocol/spec/yaml_reader.h"

#include <cmath>
#include <cstdlib>
#include <utility>

namespace cadre::spec {
namespace {

// Splits "128Mi" into 128 and "Mi"; the number must be a plain non-negative decimal.
bool split_number(const std::string& text, double* number, std::string* suffix) {
  if (text.empty()) return false;
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  const std::string digits = text.substr(0, i);
  if (digits.find('.') != digits.rfind('.')) return false;  // two dots
  char* end = nullptr;
  *number = std::strtod(digits.c_str(), &end);
  if (end != digits.c_str() + digits.size() || !std::isfinite(*number)) return false;
  *suffix = text.substr(i);
  return true;
}

}  // namespace

Result<int64_t> parse_cpu_millis(const std::string& text) {
  double number = 0;
  std::string suffix;
  if (!split_number(text, &number, &suffix) || (suffix != "" && suffix != "m")) {
    return InvalidArgument(quote_value(text) + " is not a CPU quantity (examples: 2, 0.5, 500m)");
  }
  const double millis = suffix == "m" ? number : number * 1000.0;
  if (millis > 1e12) return InvalidArgument(quote_value(text) + " is too large");
  if (millis != std::floor(millis)) {
    return InvalidArgument(quote_value(text) + " is finer than 1m (one millicore)");
  }
  return static_cast<int64_t>(millis);
}

Result<int64_t> parse_memory_bytes(const std::string& text) {
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},     {"k", 1e3},     {"K", 1e3},        {"M", 1e6},           {"G", 1e9},
      {"T", 1e12}, {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
  };
  double number = 0;
  std::string suffix;
  if (split_number(text, &number, &suffix)) {
    for (const auto& [name, scale] : kUnits) {
      if (suffix != name) continue;
      const double bytes = number * scale;
      if (bytes > 9e18) return InvalidArgument(quote_value(text) + " is too large");
      return static_cast<int64_t>(std::llround(bytes));
    }
  }
  return InvalidArgument(quote_value(text) +
                         " is not a memory quantity (examples: 512Mi, 4Gi, 1G, 1048576)");
}

std::string format_memory(int64_t bytes) {
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"Ti", 1ll << 40}, {"Gi", 1ll << 30}, {"Mi", 1ll << 20}, {"Ki", 1ll << 10}};
  for (const auto& [name, scale] : kUnits) {
    if (bytes >= scale && bytes % scale == 0) return std::to_string(bytes / scale) + name;
  }
  for (const auto& [name, scale] : kUnits) {
    if (bytes >= scale) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f%s", static_cast<double>(bytes) / scale, name);
      return buf;
    }
  }
  return std::to_string(bytes);
}

std::string format_memory_rounded(int64_t bytes) {
  static const char* kUnits[] = {"Ki", "Mi", "Gi", "Ti", "Pi"};
  if (bytes < 1024) return std::to_string(bytes);
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  std::string out = buf;
  if (out.size() > 2 && out.compare(out.size() - 2, 2, ".0") == 0) out.resize(out.size() - 2);
  return out + kUnits[unit];
}

std::string format_cpu(int64_t millis) {
  if (millis % 1000 == 0) return std::to_string(millis / 1000);
  if (millis < 1000) return std::to_string(millis) + "m";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", millis / 1000.0);
  return buf;
}

}  // namespace cadre::spec

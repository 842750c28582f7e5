#include "agent/metric_line_parser.h"

#include <cmath>
#include <cstdlib>

namespace cadre::agent {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '/' || c == '-';
}

// Names follow [A-Za-z_][A-Za-z0-9_./-]*, which is what Katib and TensorBoard tags use.
bool is_metric_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

// Decimal numbers only: strtod alone would also take "nan", "inf" and hex floats,
// none of which a metric line should carry.
std::optional<double> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  bool has_digit = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      has_digit = true;
    } else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E') {
      return std::nullopt;
    }
  }
  if (!has_digit) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

int step_preference(std::string_view name) {
  if (name == "step") return 4;
  if (name == "iteration") return 3;
  if (name == "iter") return 2;
  if (name == "epoch") return 1;
  return 0;
}

}  // namespace

std::optional<MetricLine> parse_metric_line(std::string_view line) {
  MetricLine result;
  int best_step = 0;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && is_space(line[pos])) ++pos;
    if (pos == line.size()) break;
    size_t end = pos;
    while (end < line.size() && !is_space(line[end])) ++end;
    const std::string_view token = line.substr(pos, end - pos);
    pos = end;

    const size_t eq = token.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = token.substr(0, eq);
    if (!is_metric_name(name)) return std::nullopt;
    const std::optional<double> value = parse_decimal(token.substr(eq + 1));
    if (!value) return std::nullopt;

    const int preference = step_preference(name);
    // Only values an int64 can hold; a step beyond that is not a step.
    if (preference > best_step && std::fabs(*value) < 9.0e18) {
      best_step = preference;
      result.step = static_cast<int64_t>(*value);
    }
    result.values.emplace_back(std::string(name), *value);
  }
  if (result.values.empty()) return std::nullopt;
  return result;
}

std::vector<protocol::MetricSample> MetricLineParser::parse(std::string_view line, int64_t now_ms) {
  std::vector<protocol::MetricSample> samples;
  std::optional<MetricLine> parsed = parse_metric_line(line);
  if (!parsed) return samples;
  const int64_t step = parsed->step.value_or(metric_lines_);
  ++metric_lines_;
  samples.reserve(parsed->values.size());
  for (auto& [name, value] : parsed->values) {
    protocol::MetricSample sample;
    sample.name = std::move(name);
    sample.value = value;
    sample.step = step;
    sample.time_ms = now_ms;
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace cadre::agent

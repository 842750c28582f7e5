#include "agent/metric_line_parser.h"

#include <cmath>
#include <cstdlib>
#include <limits>

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

bool equals_lower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c =
        text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

// A diverged run prints `loss=nan` (C's printf, PyTorch, NumPy): such a value is
// reported as it is, so an experiment can fail the trial as InvalidMetric instead
// of waiting for an objective that never comes.
std::optional<double> parse_non_finite(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  if (equals_lower(text, "nan")) return std::numeric_limits<double>::quiet_NaN();
  if (equals_lower(text, "inf") || equals_lower(text, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

// Decimal numbers, or nan/inf spelt out; strtod alone would also take hex floats
// and "nan(...)", which no metric line carries.
std::optional<double> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (auto special = parse_non_finite(text)) return special;
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

std::optional<MetricLine> parse_with_formats(std::string_view line,
                                             const std::vector<std::regex>& formats) {
  if (line.size() > kMaxFormatLineBytes) return std::nullopt;
  MetricLine result;
  int best_step = 0;
  try {
    for (const auto& format : formats) {
      using It = std::regex_iterator<std::string_view::const_iterator>;
      for (It it(line.begin(), line.end(), format), end; it != end; ++it) {
        const auto& match = *it;
        if (match.size() < 3 || !match[1].matched || !match[2].matched) continue;
        const std::string name = match[1].str();
        const std::optional<double> value = parse_decimal(match[2].str());
        if (name.empty() || !value) continue;
        const int preference = step_preference(name);
        if (preference > best_step && std::fabs(*value) < 9.0e18) {
          best_step = preference;
          result.step = static_cast<int64_t>(*value);
        }
        result.values.emplace_back(name, *value);
      }
    }
  } catch (const std::regex_error&) {
    return std::nullopt;  // too complex to match: not a metric line
  }
  if (result.values.empty()) return std::nullopt;
  return result;
}

Result<std::vector<std::regex>> compile_metric_formats(const std::vector<std::string>& formats) {
  std::vector<std::regex> out;
  for (const auto& format : formats) {
    try {
      // libstdc++'s polynomial executor (no backtracking): a user's pattern such as
      // (a+)+ cannot take exponential time on a line built to defeat it.
      out.emplace_back(format, std::regex::ECMAScript | std::regex_constants::__polynomial);
    } catch (const std::regex_error& e) {
      return InvalidArgument("metrics format '" + format.substr(0, 64) +
                             "' is not a regular expression: " + e.what());
    }
    if (out.back().mark_count() < 2) {
      return InvalidArgument("metrics format '" + format.substr(0, 64) +
                             "' needs two groups (name, value)");
    }
  }
  return out;
}

std::vector<protocol::MetricSample> MetricLineParser::parse(std::string_view line, int64_t now_ms) {
  std::vector<protocol::MetricSample> samples;
  std::optional<MetricLine> parsed =
      formats_.empty() ? parse_metric_line(line) : parse_with_formats(line, formats_);
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

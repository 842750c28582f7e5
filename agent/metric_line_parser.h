// Recognises metric lines in a replica's output: whitespace-separated `name=value`
// tokens with decimal values, Katib's StdOut format
// (`epoch=3 loss=0.3123 accuracy=0.8841`). `nan`, `inf` and `-inf` (any case)
// are values too, so a diverged run's `loss=nan` reaches the experiment.
//
// A line counts only if EVERY token has that shape, so ordinary log text that
// happens to contain an `=` ("using lr=0.1 for warmup") is never mistaken for
// metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::agent {

struct MetricLine {
  std::vector<std::pair<std::string, double>> values;  // in the order printed
  // The line's own step: the value of a field named step, iteration, iter or epoch
  // (in that order of preference: the finest counter wins), when one is present.
  std::optional<int64_t> step;
};

// Parses one line (without its newline; a trailing '\r' is tolerated). Returns
// nullopt when the line is not a metric line.
std::optional<MetricLine> parse_metric_line(std::string_view line);

// Katib's metricsFormat: every match of each regex in a line is one metric, its
// first group the name and its second the value (a decimal, or nan/inf). The
// regexes run on libstdc++'s polynomial (non-backtracking) executor, and lines
// longer than kMaxFormatLineBytes are not matched, so a user's pattern costs at
// most quadratic time in a short line and cannot stall the agent.
inline constexpr size_t kMaxFormatLineBytes = 1024;
std::optional<MetricLine> parse_with_formats(std::string_view line,
                                             const std::vector<std::regex>& formats);

// Compiles metricsFormat regexes (ECMAScript); an error names the bad one.
Result<std::vector<std::regex>> compile_metric_formats(const std::vector<std::string>& formats);

// Turns a replica's metric lines into samples. Lines without a step field get the
// number of metric lines this parser has seen before them, so samples still order.
// One parser per replica and source. Without formats it reads metric lines
// (parse_metric_line); with them, it applies them (parse_with_formats).
class MetricLineParser {
 public:
  MetricLineParser() = default;
  explicit MetricLineParser(std::vector<std::regex> formats) : formats_(std::move(formats)) {}

  std::vector<protocol::MetricSample> parse(std::string_view line, int64_t now_ms);

 private:
  std::vector<std::regex> formats_;
  int64_t metric_lines_ = 0;
};

}  // namespace cadre::agent

// Recognises metric lines in a replica's output: whitespace-separated `name=value`
// tokens with finite decimal values, Katib's StdOut format
// (`epoch=3 loss=0.3123 accuracy=0.8841`).
//
// A line counts only if EVERY token has that shape, so ordinary log text that
// happens to contain an `=` ("using lr=0.1 for warmup") is never mistaken for
// metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/messages.h"

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

// Turns a replica's metric lines into samples. Lines without a step field get the
// number of metric lines this parser has seen before them, so samples still order.
// One parser per replica.
class MetricLineParser {
 public:
  std::vector<protocol::MetricSample> parse(std::string_view line, int64_t now_ms);

 private:
  int64_t metric_lines_ = 0;
};

}  // namespace cadre::agent

// libFuzzer target for what a replica prints or pushes as metrics
// (agent/metric_line_parser.h): any bytes, as lines, through the strict line parser
// and through an experiment's metricsFormat regexes (Katib's default, extended
// with nan/inf, and a JSON-like one), must never crash, never produce a nameless
// metric, and never take a step from anything but a step-like name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/metric_line_parser.h"
#include "protocol/spec/experiment_spec.h"

namespace {

bool step_name(const std::string& name) {
  return name == "step" || name == "iteration" || name == "iter" || name == "epoch";
}

void check(const std::optional<cadre::agent::MetricLine>& line) {
  if (!line) return;
  bool has_step_name = false;
  for (const auto& [name, value] : line->values) {
    if (name.empty()) __builtin_trap();
    has_step_name = has_step_name || step_name(name);
  }
  if (line->step && !has_step_name) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cadre::agent;
  static const auto katib = *compile_metric_formats({cadre::spec::kDefaultMetricsFormat});
  static const auto json_like =
      *compile_metric_formats({R"(\{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)\})"});
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  MetricLineParser counting;
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    const std::string_view line = bytes.substr(0, newline);
    check(parse_metric_line(line));
    check(parse_with_formats(line, katib));
    check(parse_with_formats(line, json_like));
    for (const auto& sample : counting.parse(line, 0)) {
      if (sample.name.empty()) __builtin_trap();
    }
    if (newline == std::string_view::npos) break;
    bytes.remove_prefix(newline + 1);
  }
  return 0;
}

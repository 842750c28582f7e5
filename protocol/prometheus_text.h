// The Prometheus text exposition format (version 0.0.4), written in one place for
// every process that serves /metrics: a family's HELP and TYPE once, then its
// samples, label values escaped (a job name or a reason never breaks a line),
// numbers as Prometheus reads them, histograms as cumulative buckets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cadre::protocol {

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Starts a family: `type` is counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  // One histogram series: `cumulative[i]` counts observations <= bounds[i].
  void histogram(std::string_view name, const Labels& labels, const std::vector<double>& bounds,
                 const std::vector<uint64_t>& cumulative, uint64_t count, double sum);
  const std::string& str() const { return out_; }

 private:
  void series(std::string_view name, std::string_view suffix, const Labels& labels,
              const std::pair<std::string, std::string>* extra, double value);
  std::string out_;
};

// A label value as the format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

}  // namespace cadre::protocol

#include "protocol/prometheus_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cadre::protocol {
namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest form that reads back as the same double (0.1, not 0.1000...01).
  char buf[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) out_ += c == '\n' ? ' ' : c;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusText::series(std::string_view name, std::string_view suffix, const Labels& labels,
                            const std::pair<std::string, std::string>* extra, double value) {
  out_ += name;
  out_ += suffix;
  if (!labels.empty() || extra != nullptr) {
    out_ += '{';
    bool first = true;
    auto add = [&](const std::pair<std::string, std::string>& label) {
      if (!first) out_ += ',';
      first = false;
      out_ += label.first + "=\"" + escape_label_value(label.second) + "\"";
    };
    for (const auto& label : labels) add(label);
    if (extra != nullptr) add(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += number(value);
  out_ += '\n';
}

void PrometheusText::sample(std::string_view name, const Labels& labels, double value) {
  series(name, "", labels, nullptr, value);
}

void PrometheusText::histogram(std::string_view name, const Labels& labels,
                               const std::vector<double>& bounds,
                               const std::vector<uint64_t>& cumulative, uint64_t count,
                               double sum) {
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    const std::pair<std::string, std::string> le{"le", number(bounds[i])};
    series(name, "_bucket", labels, &le, static_cast<double>(cumulative[i]));
  }
  const std::pair<std::string, std::string> inf{"le", "+Inf"};
  series(name, "_bucket", labels, &inf, static_cast<double>(count));
  series(name, "_sum", labels, nullptr, sum);
  series(name, "_count", labels, nullptr, static_cast<double>(count));
}

}  // namespace cadre::protocol

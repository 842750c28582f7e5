#include "serving/metrics.h"

#include <cstdio>
#include <functional>

namespace cadre::serving {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string labels(const VersionStats& v, const std::string& extra = "") {
  return "{model=\"" + escape_label(v.model) + "\",version=\"" + std::to_string(v.version) + "\"" +
         extra + "}";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

class Writer {
 public:
  explicit Writer(const std::vector<VersionStats>& stats) : stats_(stats) {}

  // One metric family: HELP, TYPE, and a sample per model version.
  void family(const char* name, const char* type, const char* help,
              const std::function<std::string(const VersionStats&)>& samples) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& v : stats_) out_ += samples(v);
  }
  void counter(const char* name, const char* help,
               const std::function<double(const ModelStats&)>& value) {
    family(name, "counter", help, [&](const VersionStats& v) {
      return std::string(name) + labels(v) + " " + number(value(*v.stats)) + "\n";
    });
  }
  void gauge(const char* name, const char* help,
             const std::function<double(const ModelStats&)>& value) {
    family(name, "gauge", help, [&](const VersionStats& v) {
      return std::string(name) + labels(v) + " " + number(value(*v.stats)) + "\n";
    });
  }
  void summary(const char* name, const char* help,
               const std::function<const LatencyWindow&(const ModelStats&)>& window) {
    family(name, "summary", help, [&](const VersionStats& v) {
      const LatencyWindow& w = window(*v.stats);
      const auto q = w.quantiles();
      const char* quantiles[3] = {"0.5", "0.9", "0.99"};
      std::string s;
      for (int i = 0; i < 3; ++i)
        s += std::string(name) + labels(v, std::string(",quantile=\"") + quantiles[i] + "\"") +
             " " + number(q[i]) + "\n";
      s += std::string(name) + "_sum" + labels(v) + " " + number(w.sum_us()) + "\n";
      s += std::string(name) + "_count" + labels(v) + " " + number(w.count()) + "\n";
      return s;
    });
  }
  std::string& out() { return out_; }

 private:
  const std::vector<VersionStats>& stats_;
  std::string out_;
};

}  // namespace

std::string render_metrics(const InferenceServer& server) {
  const auto stats = server.statistics("", 0).value();
  Writer w(stats);
  w.counter("nv_inference_request_success", "Number of successful inference requests",
            [](const ModelStats& s) { return s.success.count.load(); });
  w.family("nv_inference_request_failure", "counter", "Number of failed inference requests",
           [](const VersionStats& v) {
             std::string s;
             for (int r = 0; r < kFailureReasons; ++r)
               s += "nv_inference_request_failure" +
                    labels(v, std::string(",reason=\"") +
                                  failure_reason_name(static_cast<FailureReason>(r)) + "\"") +
                    " " + number(v.stats->failures[r].load()) + "\n";
             return s;
           });
  w.counter("nv_inference_count", "Number of inferences performed (batch elements)",
            [](const ModelStats& s) { return s.inference_count.load(); });
  w.counter("nv_inference_exec_count", "Number of model executions performed (batches)",
            [](const ModelStats& s) { return s.execution_count.load(); });
  w.gauge("nv_inference_pending_request_count", "Instantaneous number of pending requests",
          [](const ModelStats& s) { return static_cast<double>(s.pending.load()); });
  w.counter("nv_inference_request_duration_us",
            "Cumulative inference request duration in microseconds",
            [](const ModelStats& s) { return s.success.ns.load() / 1000; });
  w.counter("nv_inference_queue_duration_us",
            "Cumulative inference queuing duration in microseconds",
            [](const ModelStats& s) { return s.queue.ns.load() / 1000; });
  w.counter("nv_inference_compute_input_duration_us",
            "Cumulative compute input duration in microseconds",
            [](const ModelStats& s) { return s.compute_input.ns.load() / 1000; });
  w.counter("nv_inference_compute_infer_duration_us",
            "Cumulative compute inference duration in microseconds",
            [](const ModelStats& s) { return s.compute_infer.ns.load() / 1000; });
  w.counter("nv_inference_compute_output_duration_us",
            "Cumulative inference compute output duration in microseconds",
            [](const ModelStats& s) { return s.compute_output.ns.load() / 1000; });
  w.summary("nv_inference_request_summary_us",
            "Summary of inference request duration in microseconds (last 2048 requests)",
            [](const ModelStats& s) -> const LatencyWindow& { return s.request_us; });
  w.summary("nv_inference_queue_summary_us",
            "Summary of inference queuing duration in microseconds (last 2048 requests)",
            [](const ModelStats& s) -> const LatencyWindow& { return s.queue_us; });
  w.summary("nv_inference_compute_infer_summary_us",
            "Summary of compute inference duration in microseconds (last 2048 batches)",
            [](const ModelStats& s) -> const LatencyWindow& { return s.compute_infer_us; });
  w.gauge("nv_model_load_duration_secs", "Model load time in seconds",
          [](const ModelStats& s) { return s.load_ms / 1000.0; });
  w.family("cadre_instance_busy_us_total", "counter",
           "Time each model instance spent executing batches, in microseconds",
           [](const VersionStats& v) {
             std::string s;
             for (size_t i = 0; i < v.stats->instance_busy_ns.size(); ++i)
               s += "cadre_instance_busy_us_total" +
                    labels(v, ",instance=\"" + std::to_string(i) + "\"") + " " +
                    number(v.stats->instance_busy_ns[i].load() / 1000) + "\n";
             return s;
           });
  return std::move(w.out());
}

}  // namespace cadre::serving

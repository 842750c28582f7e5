// The manager's gauges for /metrics: what it holds summaries of, counted by kind
// and phase, and each inference service's replicas per revision.
#include "actors/manager_state.h"
#include "protocol/prometheus_text.h"

namespace cadre::actors {
namespace {

// One sample per value of the enum, zeros included, so a query has a series.
template <typename E, typename Summaries, typename Phase>
void by_phase(protocol::PrometheusText& out, const char* name, const char* label,
              const Summaries& summaries, Phase phase_of) {
  std::map<std::string_view, int> counts;
  for (const auto& [value, text] : protocol::EnumNames<E>::kTable) counts[text] = 0;
  for (const auto& [key, summary] : summaries) counts[protocol::enum_name(phase_of(summary))]++;
  for (const auto& [text, n] : counts) out.sample(name, {{label, std::string(text)}}, n);
}

}  // namespace

namespace manager {

std::string scrape_manager(const ManagerState& st) {
  protocol::PrometheusText out;
  out.family("cadre_jobs", "gauge", "Jobs and TrainJobs by kind and phase.");
  std::map<std::pair<std::string, std::string_view>, int> jobs;
  for (const char* kind : {"Job", "TrainJob"}) {
    for (const auto& [value, text] : protocol::EnumNames<protocol::JobPhase>::kTable) {
      jobs[{kind, text}] = 0;
    }
  }
  for (const auto& [name, job] : st.summary) jobs[{job.kind, protocol::enum_name(job.phase)}]++;
  for (const auto& [key, n] : jobs) {
    out.sample("cadre_jobs", {{"kind", key.first}, {"phase", std::string(key.second)}}, n);
  }
  out.family("cadre_experiments", "gauge", "Experiments by phase.");
  by_phase<protocol::ExperimentPhase>(out, "cadre_experiments", "phase", st.experiment_summary,
                                      [](const auto& e) { return e.phase; });
  out.family("cadre_pipeline_runs", "gauge", "Pipeline runs by state.");
  by_phase<protocol::PipelineState>(out, "cadre_pipeline_runs", "state", st.run_summary,
                                    [](const auto& r) { return r.state; });
  out.family("cadre_notebooks", "gauge", "Notebooks by phase.");
  by_phase<protocol::NotebookPhase>(out, "cadre_notebooks", "phase", st.notebook_summary,
                                    [](const auto& n) { return n.phase; });
  out.family("cadre_inference_service_ready", "gauge",
             "1 when an InferenceService is Ready (its Ready condition).");
  for (const auto& [name, s] : st.service_summary) {
    out.sample("cadre_inference_service_ready", {{"service", name}, {"namespace", s.ns}},
               s.ready ? 1 : 0);
  }
  out.family("cadre_inference_service_replicas", "gauge",
             "Replicas of each revision: what the supervisor wants (desired) and what answers "
             "ready (ready); 0 and 0 at zero.");
  for (const auto& [name, s] : st.service_summary) {
    for (const auto& rev : s.revisions) {
      out.sample("cadre_inference_service_replicas",
                 {{"service", name}, {"revision", rev.name}, {"state", "desired"}},
                 rev.desired_replicas);
      out.sample("cadre_inference_service_replicas",
                 {{"service", name}, {"revision", rev.name}, {"state", "ready"}},
                 rev.ready_replicas);
    }
  }
  out.family("cadre_ingress_connected", "gauge", "1 while an ingress polls the routes.");
  out.sample("cadre_ingress_connected", {}, st.ingress_connected ? 1 : 0);
  return out.str();
}

}  // namespace manager
}  // namespace cadre::actors

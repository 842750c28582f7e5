#include "serving/http/v2_metadata_json.h"

namespace cadre::serving::http {

using json = nlohmann::json;

json server_metadata_json(const std::string& version) {
  return {{"name", "cadre-serve"},
          {"version", version},
          {"extensions",
           {"binary_tensor_data", "parameters", "statistics", "model_repository",
            "model_configuration", "schedule_policy"}}};
}

json model_metadata_json(const ModelMetadata& md) {
  json versions = json::array();
  for (int64_t v : md.versions) versions.push_back(std::to_string(v));
  auto tensors = [](const std::vector<TensorMetadata>& ts) {
    json out = json::array();
    for (const auto& t : ts)
      out.push_back({{"name", t.name}, {"datatype", v2_name(t.datatype)}, {"shape", t.shape}});
    return out;
  };
  return {{"name", md.name},
          {"versions", versions},
          {"platform", md.platform},
          {"inputs", tensors(md.inputs)},
          {"outputs", tensors(md.outputs)}};
}

json repository_index_json(const std::vector<ModelIndexEntry>& index) {
  json out = json::array();
  for (const auto& e : index) {
    json m = {{"name", e.name}, {"state", e.state}};
    if (e.version > 0) m["version"] = std::to_string(e.version);
    if (!e.reason.empty()) m["reason"] = e.reason;
    out.push_back(m);
  }
  return out;
}

json statistics_json(const std::vector<VersionStats>& stats) {
  auto duration = [](const DurationStat& d) {
    return json{{"count", d.count.load()}, {"ns", d.ns.load()}};
  };
  json models = json::array();
  for (const auto& v : stats) {
    const ModelStats& s = *v.stats;
    json batches = json::array();
    for (const auto& [size, b] : s.batch_stats())
      batches.push_back({{"batch_size", size},
                         {"compute_input", {{"count", b.count}, {"ns", b.compute_input_ns}}},
                         {"compute_infer", {{"count", b.count}, {"ns", b.compute_infer_ns}}},
                         {"compute_output", {{"count", b.count}, {"ns", b.compute_output_ns}}}});
    models.push_back({{"name", v.model},
                      {"version", std::to_string(v.version)},
                      {"last_inference", s.last_inference_ms.load()},
                      {"inference_count", s.inference_count.load()},
                      {"execution_count", s.execution_count.load()},
                      {"inference_stats",
                       {{"success", duration(s.success)},
                        {"fail", duration(s.fail)},
                        {"queue", duration(s.queue)},
                        {"compute_input", duration(s.compute_input)},
                        {"compute_infer", duration(s.compute_infer)},
                        {"compute_output", duration(s.compute_output)}}},
                      {"batch_stats", batches}});
  }
  return {{"model_stats", models}};
}

}  // namespace cadre::serving::http

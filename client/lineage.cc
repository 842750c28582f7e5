#include "client/lineage.h"

#include <map>
#include <set>
#include <sstream>

#include "client/pipeline_output.h"
#include "pipelines/json_text.h"
#include "protocol/string_enum.h"

namespace cadre::client {

using nlohmann::json;
using protocol::PipelineRunStatus;
using protocol::PipelineTaskStatus;

namespace {

struct Step {
  const PipelineRunStatus* run = nullptr;
  const PipelineTaskStatus* task = nullptr;
  std::string key() const { return run->name + "/" + task->id; }
};

// The stored runs, indexed by artifact URI and by task.
class Graph {
 public:
  explicit Graph(const std::vector<PipelineRunStatus>& runs) {
    for (const auto& r : runs) {
      for (const auto& t : r.tasks) {
        if (t.kind != protocol::PipelineTaskKind::kContainer) continue;
        Step s{&r, &t};
        tasks_[s.key()] = s;
        for (const auto& a : t.output_artifacts) {
          // A cached step reuses the URI of the step that made it.
          if (!t.cached) producer_[a.uri] = s;
          types_[a.uri] = a.schema_title;
        }
        for (const auto& a : t.input_artifacts) consumers_[a.uri].push_back(s);
      }
      for (const auto& t : r.tasks) all_[r.name + "/" + t.id] = Step{&r, &t};
    }
  }

  bool known(const std::string& uri) const { return producer_.count(uri) || consumers_.count(uri); }
  const Step* producer(const std::string& uri) const {
    auto it = producer_.find(uri);
    return it == producer_.end() ? nullptr : &it->second;
  }
  std::vector<Step> consumers(const std::string& uri) const {
    auto it = consumers_.find(uri);
    return it == consumers_.end() ? std::vector<Step>{} : it->second;
  }
  std::string type(const std::string& uri) const {
    auto it = types_.find(uri);
    return it == types_.end() ? "" : it->second;
  }
  // The steps `s` waited for: its own upstream, and that of every DAG holding it
  // (a step in a condition waits for what the condition waited for).
  std::vector<Step> waited_for(const Step& s) const {
    std::vector<Step> out;
    std::set<std::string> seen;
    for (const PipelineTaskStatus* t = s.task; t;) {
      for (const auto& id : t->upstream) collect(s.run->name + "/" + id, out, seen);
      auto parent = all_.find(s.run->name + "/" + t->parent);
      t = t->parent.empty() || parent == all_.end() ? nullptr : parent->second.task;
    }
    return out;
  }
  // Steps of the same run that waited for `s`.
  std::vector<Step> waited_on_by(const Step& s) const {
    std::vector<Step> out;
    for (const auto& [key, other] : tasks_) {
      if (other.run != s.run) continue;
      for (const auto& w : waited_for(other)) {
        if (w.key() == s.key()) out.push_back(other);
      }
    }
    return out;
  }

 private:
  // A DAG or loop in the upstream stands for the steps inside it.
  void collect(const std::string& key, std::vector<Step>& out, std::set<std::string>& seen) const {
    if (!seen.insert(key).second) return;
    auto it = all_.find(key);
    if (it == all_.end()) return;
    if (it->second.task->kind == protocol::PipelineTaskKind::kContainer) {
      out.push_back(it->second);
      return;
    }
    for (const auto& [k, s] : all_) {
      if (k.rfind(key + "/", 0) == 0 && s.task->kind == protocol::PipelineTaskKind::kContainer) {
        if (seen.insert(k).second) out.push_back(s);
      }
    }
  }

  std::map<std::string, Step> tasks_;  // container steps
  std::map<std::string, Step> all_;    // every task, DAGs included
  std::map<std::string, Step> producer_;
  std::map<std::string, std::vector<Step>> consumers_;
  std::map<std::string, std::string> types_;
};

json execution_json(const Step& s) {
  const auto& t = *s.task;
  json in = json::array(), out = json::array();
  for (const auto& a : t.input_artifacts) in.push_back({{"name", a.name}, {"uri", a.uri}});
  for (const auto& a : t.output_artifacts) out.push_back({{"name", a.name}, {"uri", a.uri}});
  return {{"run", s.run->name},
          {"pipeline", s.run->pipeline},
          {"task", t.id},
          {"component", t.component},
          {"state", protocol::to_string(t.state)},
          {"job", t.job},
          {"workload", step_workload_ref(t)},
          {"cached", t.cached},
          {"cachedFrom", t.cached_from},
          {"parameters", pipelines::parse_json_or_text(t.inputs)},
          {"outputs", pipelines::parse_json_or_text(t.outputs)},
          {"runParameters", pipelines::parse_json_or_text(s.run->parameters)},
          {"inputArtifacts", in},
          {"outputArtifacts", out}};
}

// Depth-first from the artifact; each step once.
class Walk {
 public:
  Walk(const Graph& g, const LineageOptions& o) : g_(g), o_(o) {}

  // `via`: the step that led here (its consumer going upstream, its producer going
  // downstream); empty at the start.
  void from_artifact(const std::string& uri, int depth, int indent, const std::string& via = "") {
    line(indent) << "artifact " << uri << (g_.type(uri).empty() ? "" : " (" + g_.type(uri) + ")")
                 << "\n";
    if (depth <= 0) return;
    if (!o_.downstream) {
      const Step* p = g_.producer(uri);
      if (!p) {
        line(indent + 1) << "produced outside any run\n";
        return;
      }
      edges_.push_back({{"from", p->key()}, {"to", via}, {"artifact", uri}});
      step(*p, "produced by", depth, indent + 1);
    } else {
      for (const auto& c : g_.consumers(uri)) {
        edges_.push_back({{"from", via}, {"to", c.key()}, {"artifact", uri}});
        step(c, "consumed by", depth, indent + 1);
      }
    }
  }

  json executions() const { return executions_; }
  json edges() const { return edges_; }
  std::string text() const { return text_.str(); }

 private:
  std::ostream& line(int indent) {
    text_ << std::string(2 * indent, ' ');
    return text_;
  }

  void step(const Step& s, const std::string& how, int depth, int indent) {
    const auto& t = *s.task;
    line(indent) << how << " run/" << s.run->name << " step " << t.id << " ("
                 << protocol::to_string(t.state)
                 << (t.job.empty() ? "" : ", " + step_workload_ref(t))
                 << (t.cached ? ", cached from " + t.cached_from : "") << ")";
    if (!visited_.insert(s.key()).second) {
      text_ << " (shown above)\n";
      return;
    }
    text_ << "\n";
    executions_.push_back(execution_json(s));
    const std::string params = inline_values(t.inputs);
    if (!params.empty()) line(indent + 1) << "parameters: " << params << "\n";
    const std::string outputs = inline_values(t.outputs);
    if (!outputs.empty()) line(indent + 1) << "outputs: " << outputs << "\n";
    if (runs_shown_.insert(s.run->name).second) {
      const std::string run_params = inline_values(s.run->parameters);
      line(indent + 1) << "run/" << s.run->name << " of pipeline " << s.run->pipeline
                       << " (version " << s.run->pipeline_version << ")"
                       << (run_params.empty() ? "" : ", parameters: " + run_params) << "\n";
    }
    if (depth <= 1) return;
    if (!o_.downstream) {
      std::set<std::string> through_artifacts;
      for (const auto& a : t.input_artifacts) {
        if (const Step* p = g_.producer(a.uri)) through_artifacts.insert(p->key());
        from_artifact(a.uri, depth - 1, indent + 1, s.key());
      }
      for (const auto& u : g_.waited_for(s)) {
        if (through_artifacts.count(u.key())) continue;
        edges_.push_back({{"from", u.key()}, {"to", s.key()}, {"artifact", ""}});
        step(u, "after", depth - 1, indent + 1);
      }
    } else {
      for (const auto& a : t.output_artifacts) from_artifact(a.uri, depth - 1, indent + 1, s.key());
      for (const auto& d : g_.waited_on_by(s)) {
        edges_.push_back({{"from", s.key()}, {"to", d.key()}, {"artifact", ""}});
        step(d, "then", depth - 1, indent + 1);
      }
    }
  }

  static std::string inline_values(const std::string& text) {
    json v = pipelines::parse_json_or_text(text);
    if (!v.is_object() || v.empty()) return "";
    std::string out;
    for (const auto& [k, value] : v.items()) {
      std::string shown =
          value.is_string() ? value.get<std::string>() : pipelines::json_text(value);
      if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
      out += (out.empty() ? "" : " ") + k + "=" + shown;
    }
    return out;
  }

  const Graph& g_;
  const LineageOptions& o_;
  std::set<std::string> visited_;
  std::set<std::string> runs_shown_;
  json executions_ = json::array();
  json edges_ = json::array();
  std::ostringstream text_;
};

Status check_known(const Graph& g, const std::string& uri) {
  if (g.known(uri)) return Status::Ok();
  return NotFound("no run produced or used the artifact " + uri +
                  " (cadre get run NAME -o json lists each step's artifact URIs)");
}

}  // namespace

Result<json> lineage_json(const std::vector<PipelineRunStatus>& runs, const std::string& uri,
                          const LineageOptions& options) {
  Graph g(runs);
  RETURN_IF_ERROR(check_known(g, uri));
  Walk w(g, options);
  w.from_artifact(uri, options.depth, 0);
  return json{{"artifact", uri},
              {"direction", options.downstream ? "downstream" : "upstream"},
              {"executions", w.executions()},
              {"edges", w.edges()}};
}

Result<std::string> lineage_text(const std::vector<PipelineRunStatus>& runs, const std::string& uri,
                                 const LineageOptions& options) {
  Graph g(runs);
  RETURN_IF_ERROR(check_known(g, uri));
  Walk w(g, options);
  w.from_artifact(uri, options.depth, 0);
  return w.text();
}

}  // namespace cadre::client

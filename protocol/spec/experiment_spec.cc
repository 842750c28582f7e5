#include "protocol/spec/experiment_spec.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

#include "protocol/spec/spec_parsers.h"
#include "tuning/median_stop.h"

namespace cadre::spec {
namespace {

constexpr const char* kPlaceholder = "${trialParameters.";
// Trials' jobs are "<experiment>-<id>-r<k>" (id up to 6 digits, k up to 2): all
// must fit a DNS label of 63.
constexpr size_t kMaxExperimentName = 48;
constexpr size_t kMaxListEntries = 1000;

std::string item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

Result<double> number(const std::string& text, const std::string& path) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v))
    return field_error(path, quote_value(text) + " is not a number");
  return v;
}

// A list of maps under `key`, each read by `each(reader, path)`.
template <typename Each>
Status for_each_map(YamlReader& parent, const std::string& key, size_t max, Each each) {
  const YAML::Node list = parent.node(key);
  const std::string path = parent.child_path(key);
  if (!list.IsDefined() || list.IsNull()) return Status::Ok();
  if (!list.IsSequence()) return field_error(path, "must be a list");
  if (list.size() > max) return field_error(path, "more than " + std::to_string(max) + " entries");
  for (size_t i = 0; i < list.size(); ++i) {
    ASSIGN_OR_RETURN(YamlReader r, YamlReader::Map(list[i], item(path, i)));
    RETURN_IF_ERROR(each(r, item(path, i)));
    RETURN_IF_ERROR(r.reject_unknown());
  }
  return Status::Ok();
}

// Katib's [{name, value}] settings lists.
Result<tuning::Settings> parse_settings(YamlReader& parent, const std::string& key) {
  tuning::Settings out;
  auto read_setting = [&](YamlReader& r, const std::string& path) {
    RETURN_IF_ERROR(r.only({"name", "value"}));
    ASSIGN_OR_RETURN(auto name, r.string("name"));
    ASSIGN_OR_RETURN(auto value, r.scalar("value"));
    if (!name || name->empty()) return field_error(path + ".name", "required");
    if (!value) return field_error(path + ".value", "required");
    if (!out.emplace(*name, *value).second)
      return field_error(path + ".name", quote_value(*name) + " is given twice");
    return Status::Ok();
  };
  RETURN_IF_ERROR(for_each_map(parent, key, 64, read_setting));
  return out;
}

Result<ObjectiveSpec> parse_objective(YamlReader& spec) {
  ASSIGN_OR_RETURN(auto r, spec.map("objective"));
  if (!r) return field_error("spec.objective", "required");
  RETURN_IF_ERROR(r->only(
      {"type", "goal", "objectiveMetricName", "additionalMetricNames", "metricStrategies"}));
  ObjectiveSpec o;
  ASSIGN_OR_RETURN(auto type, r->string("type"));
  if (!type) return field_error("spec.objective.type", "required (maximize or minimize)");
  if (*type == "maximize") {
    o.type = tuning::Goal::kMaximize;
  } else if (*type == "minimize") {
    o.type = tuning::Goal::kMinimize;
  } else {
    return field_error("spec.objective.type", quote_value(*type) + " is not maximize or minimize");
  }
  ASSIGN_OR_RETURN(auto goal, r->scalar("goal"));
  if (goal) {
    ASSIGN_OR_RETURN(o.goal, number(*goal, "spec.objective.goal"));
  }
  ASSIGN_OR_RETURN(auto metric, r->string("objectiveMetricName"));
  if (!metric || metric->empty())
    return field_error("spec.objective.objectiveMetricName", "required");
  o.objective_metric_name = *metric;
  ASSIGN_OR_RETURN(auto more, r->string_list("additionalMetricNames"));
  if (more) o.additional_metric_names = *more;
  std::set<std::string> names{o.objective_metric_name};
  names.insert(o.additional_metric_names.begin(), o.additional_metric_names.end());
  auto read_strategy = [&](YamlReader& s, const std::string& path) {
    RETURN_IF_ERROR(s.only({"name", "value"}));
    ASSIGN_OR_RETURN(auto name, s.string("name"));
    ASSIGN_OR_RETURN(auto value, s.string("value"));
    if (!name || !names.count(*name))
      return field_error(path + ".name", "must name the objective or an additional metric");
    if (!value || (*value != "min" && *value != "max" && *value != "latest"))
      return field_error(path + ".value", "must be min, max or latest");
    o.metric_strategies[*name] = *value == "min"   ? MetricStrategy::kMin
                                 : *value == "max" ? MetricStrategy::kMax
                                                   : MetricStrategy::kLatest;
    return Status::Ok();
  };
  RETURN_IF_ERROR(for_each_map(*r, "metricStrategies", 64, read_strategy));
  // Katib's default: each metric follows the objective's direction.
  for (const auto& n : names)
    o.metric_strategies.emplace(
        n, o.type == tuning::Goal::kMaximize ? MetricStrategy::kMax : MetricStrategy::kMin);
  return o;
}

Result<tuning::ParameterType> parameter_type(const std::optional<std::string>& type,
                                             const std::string& path) {
  const std::string t = type.value_or("");
  if (t == "double") return tuning::ParameterType::kDouble;
  if (t == "int") return tuning::ParameterType::kInt;
  if (t == "discrete") return tuning::ParameterType::kDiscrete;
  if (t == "categorical") return tuning::ParameterType::kCategorical;
  return field_error(path, quote_value(t) + " is not double, int, discrete or categorical");
}

Result<tuning::Distribution> distribution(const std::optional<std::string>& name,
                                          const std::string& path) {
  const std::string d = name.value_or("uniform");
  if (d == "uniform") return tuning::Distribution::kUniform;
  if (d == "logUniform") return tuning::Distribution::kLogUniform;
  if (d == "normal") return tuning::Distribution::kNormal;
  if (d == "logNormal") return tuning::Distribution::kLogNormal;
  return field_error(path, quote_value(d) + " is not uniform, logUniform, normal or logNormal");
}

// feasibleSpace: min, max and step for numeric parameters, list for the others.
Status parse_feasible_space(YamlReader& fs, const std::string& fpath, tuning::ParameterSpec& p) {
  RETURN_IF_ERROR(fs.only({"min", "max", "step", "list", "distribution"}));
  if (p.numeric()) {
    ASSIGN_OR_RETURN(auto min, fs.scalar("min"));
    ASSIGN_OR_RETURN(auto max, fs.scalar("max"));
    if (!min) return field_error(fpath + ".min", "required");
    if (!max) return field_error(fpath + ".max", "required");
    ASSIGN_OR_RETURN(p.min, number(*min, fpath + ".min"));
    ASSIGN_OR_RETURN(p.max, number(*max, fpath + ".max"));
    ASSIGN_OR_RETURN(auto step, fs.scalar("step"));
    if (step) {
      ASSIGN_OR_RETURN(p.step, number(*step, fpath + ".step"));
    }
    if (fs.has("list")) return field_error(fpath + ".list", "is for discrete and categorical");
  } else {
    ASSIGN_OR_RETURN(auto list, fs.string_list("list"));
    if (!list) return field_error(fpath + ".list", "required");
    if (list->size() > kMaxListEntries)
      return field_error(fpath + ".list", "more than 1000 entries");
    p.list = *list;
    if (fs.has("min") || fs.has("max") || fs.has("step"))
      return field_error(fpath, "min, max and step are for double and int parameters");
  }
  ASSIGN_OR_RETURN(auto dist, fs.string("distribution"));
  ASSIGN_OR_RETURN(p.distribution, distribution(dist, fpath + ".distribution"));
  if (!p.numeric() && dist)
    return field_error(fpath + ".distribution", "is for double and int parameters");
  return fs.reject_unknown();
}

Result<tuning::ParameterSpec> parse_parameter(YamlReader& r, const std::string& path) {
  RETURN_IF_ERROR(r.only({"name", "parameterType", "feasibleSpace"}));
  tuning::ParameterSpec p;
  ASSIGN_OR_RETURN(auto name, r.string("name"));
  if (!name) return field_error(path + ".name", "required");
  p.name = *name;
  ASSIGN_OR_RETURN(auto type, r.string("parameterType"));
  ASSIGN_OR_RETURN(p.type, parameter_type(type, path + ".parameterType"));
  ASSIGN_OR_RETURN(auto fs, r.map("feasibleSpace"));
  if (!fs) return field_error(path + ".feasibleSpace", "required");
  RETURN_IF_ERROR(parse_feasible_space(*fs, path + ".feasibleSpace", p));
  return p;
}

Result<tuning::SearchSpace> parse_parameters(YamlReader& spec) {
  tuning::SearchSpace space;
  if (!spec.has("parameters")) return field_error("spec.parameters", "required");
  RETURN_IF_ERROR(for_each_map(spec, "parameters", 64, [&](YamlReader& r, const std::string& path) {
    ASSIGN_OR_RETURN(auto p, parse_parameter(r, path));
    space.parameters.push_back(std::move(p));
    return Status::Ok();
  }));
  RETURN_IF_ERROR(space.validate());
  return space;
}

Result<MetricsCollectorSpec> parse_collector(YamlReader& spec) {
  MetricsCollectorSpec c;
  ASSIGN_OR_RETURN(auto r, spec.map("metricsCollectorSpec"));
  if (r) {
    RETURN_IF_ERROR(r->only({"collector", "source"}));
    ASSIGN_OR_RETURN(auto collector, r->map("collector"));
    if (collector) {
      RETURN_IF_ERROR(collector->only({"kind"}));
      ASSIGN_OR_RETURN(auto kind, collector->string("kind"));
      const std::string k = kind.value_or("StdOut");
      if (k == "StdOut") {
        c.kind = CollectorKind::kStdOut;
      } else if (k == "File") {
        c.kind = CollectorKind::kFile;
      } else if (k == "Push") {
        c.kind = CollectorKind::kPush;
      } else {
        return field_error("spec.metricsCollectorSpec.collector.kind",
                           quote_value(k) + " is not StdOut, File or Push");
      }
    }
    ASSIGN_OR_RETURN(auto source, r->map("source"));
    if (source) {
      RETURN_IF_ERROR(source->only({"filter", "fileSystemPath"}));
      ASSIGN_OR_RETURN(auto filter, source->map("filter"));
      if (filter) {
        RETURN_IF_ERROR(filter->only({"metricsFormat"}));
        ASSIGN_OR_RETURN(auto formats, filter->string_list("metricsFormat"));
        if (formats) c.metrics_format = *formats;
      }
      ASSIGN_OR_RETURN(auto fs, source->map("fileSystemPath"));
      if (fs) {
        RETURN_IF_ERROR(fs->only({"path", "kind"}));
        ASSIGN_OR_RETURN(auto path, fs->string("path"));
        if (path) c.file_path = *path;
        ASSIGN_OR_RETURN(auto kind, fs->string("kind"));
        if (kind && *kind != "File")
          return field_error("spec.metricsCollectorSpec.source.fileSystemPath.kind",
                             "only File is supported");
      }
    }
  }
  if (c.kind == CollectorKind::kFile && c.file_path.empty())
    return field_error("spec.metricsCollectorSpec.source.fileSystemPath.path",
                       "required for the File collector");
  if (c.metrics_format.empty()) c.metrics_format = {kDefaultMetricsFormat};
  for (size_t i = 0; i < c.metrics_format.size(); ++i) {
    const std::string path = item("spec.metricsCollectorSpec.source.filter.metricsFormat", i);
    if (c.metrics_format[i].size() > 1024) return field_error(path, "longer than 1024 characters");
    try {
      // As the agent compiles it (agent/metric_line_parser.cc).
      const std::regex re(c.metrics_format[i],
                          std::regex::ECMAScript | std::regex_constants::__polynomial);
      if (re.mark_count() < 2)
        return field_error(path, "needs two groups, the metric's name and its value");
    } catch (const std::regex_error& e) {
      return field_error(path, "not a regular expression (" + std::string(e.what()) + ")");
    }
  }
  return c;
}

// Replaces ${trialParameters.NAME} in every scalar of a copy of `node`; names
// not in `values` are errors; `used` collects the names seen.
Result<YAML::Node> substitute(const YAML::Node& node,
                              const std::map<std::string, std::string>& values,
                              std::set<std::string>* used, const std::string& path) {
  if (node.IsScalar()) {
    std::string text = node.Scalar();
    std::string out;
    size_t at = 0;
    while (true) {
      const size_t start = text.find(kPlaceholder, at);
      if (start == std::string::npos) break;
      const size_t name_start = start + std::char_traits<char>::length(kPlaceholder);
      const size_t end = text.find('}', name_start);
      if (end == std::string::npos)
        return field_error(path, "an unterminated ${trialParameters. placeholder");
      const std::string name = text.substr(name_start, end - name_start);
      auto it = values.find(name);
      if (it == values.end())
        return field_error(path, "${trialParameters." + name.substr(0, 64) +
                                     "} is not declared in spec.trialTemplate.trialParameters");
      used->insert(name);
      out += text.substr(at, start - at) + it->second;
      at = end + 1;
    }
    out += text.substr(at);
    return YAML::Node(out);
  }
  if (node.IsSequence()) {
    YAML::Node copy(YAML::NodeType::Sequence);
    for (size_t i = 0; i < node.size(); ++i) {
      ASSIGN_OR_RETURN(auto child, substitute(node[i], values, used, item(path, i)));
      copy.push_back(child);
    }
    return copy;
  }
  if (node.IsMap()) {
    YAML::Node copy(YAML::NodeType::Map);
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      ASSIGN_OR_RETURN(auto child, substitute(kv.second, values, used, path + "." + key));
      copy[key] = child;
    }
    return copy;
  }
  return YAML::Node(node);
}

Result<TrialTemplateSpec> parse_trial_template(YamlReader& spec) {
  ASSIGN_OR_RETURN(auto r, spec.map("trialTemplate"));
  if (!r) return field_error("spec.trialTemplate", "required");
  RETURN_IF_ERROR(r->only({"trialParameters", "trialSpec", "retain"}));
  TrialTemplateSpec t;
  std::set<std::string> names;
  auto read_trial_parameter = [&](YamlReader& p, const std::string& path) {
    RETURN_IF_ERROR(p.only({"name", "description", "reference"}));
    TrialParameterSpec tp;
    ASSIGN_OR_RETURN(auto name, p.string("name"));
    ASSIGN_OR_RETURN(auto description, p.string("description"));
    ASSIGN_OR_RETURN(auto reference, p.string("reference"));
    if (!name || name->empty()) return field_error(path + ".name", "required");
    if (!names.insert(*name).second)
      return field_error(path + ".name", quote_value(*name) + " is declared twice");
    if (!reference) return field_error(path + ".reference", "required");
    tp.name = *name;
    tp.description = description.value_or("");
    tp.reference = *reference;
    t.trial_parameters.push_back(tp);
    return Status::Ok();
  };
  RETURN_IF_ERROR(for_each_map(*r, "trialParameters", 64, read_trial_parameter));
  ASSIGN_OR_RETURN(auto retain, r->boolean("retain"));
  t.retain = retain.value_or(false);
  ASSIGN_OR_RETURN(auto trial, r->map("trialSpec"));
  if (!trial) return field_error("spec.trialTemplate.trialSpec", "required");
  RETURN_IF_ERROR(trial->only({"apiVersion", "kind", "spec"}));
  ASSIGN_OR_RETURN(auto api, trial->string("apiVersion"));
  if (api && *api != kApiVersion)
    return field_error("spec.trialTemplate.trialSpec.apiVersion",
                       quote_value(*api) + " is not supported (use " + kApiVersion + ")");
  ASSIGN_OR_RETURN(auto kind, trial->string("kind"));
  if (!kind || (*kind != "Job" && *kind != "TrainJob"))
    return field_error("spec.trialTemplate.trialSpec.kind", "must be Job or TrainJob");
  t.trial_kind = *kind;
  const YAML::Node body = trial->node("spec");
  if (!body.IsDefined() || !body.IsMap())
    return field_error("spec.trialTemplate.trialSpec.spec", "required (the Job or TrainJob spec)");
  YAML::Emitter out;
  out << body;
  t.trial_spec = out.c_str();
  return t;
}

Result<AlgorithmSpec> parse_algorithm(YamlReader& spec, const tuning::SearchSpace& parameters) {
  ASSIGN_OR_RETURN(auto algorithm, spec.map("algorithm"));
  if (!algorithm) return field_error("spec.algorithm", "required");
  RETURN_IF_ERROR(algorithm->only({"algorithmName", "algorithmSettings"}));
  ASSIGN_OR_RETURN(auto name, algorithm->string("algorithmName"));
  if (!name) return field_error("spec.algorithm.algorithmName", "required");
  AlgorithmSpec out{*name, {}};
  ASSIGN_OR_RETURN(out.settings, parse_settings(*algorithm, "algorithmSettings"));
  // The suggester itself checks the algorithm, its settings and the space.
  RETURN_IF_ERROR(tuning::create_suggester(out.name, parameters, out.settings).status());
  return out;
}

Result<std::optional<AlgorithmSpec>> parse_early_stopping(YamlReader& spec) {
  ASSIGN_OR_RETURN(auto early, spec.map("earlyStopping"));
  if (!early) return std::optional<AlgorithmSpec>();
  RETURN_IF_ERROR(early->only({"algorithmName", "algorithmSettings"}));
  ASSIGN_OR_RETURN(auto es, early->string("algorithmName"));
  if (!es || *es != "medianstop")
    return field_error("spec.earlyStopping.algorithmName", "must be medianstop");
  AlgorithmSpec stop{*es, {}};
  ASSIGN_OR_RETURN(stop.settings, parse_settings(*early, "algorithmSettings"));
  RETURN_IF_ERROR(tuning::median_stop_options(stop.settings).status());
  return std::optional<AlgorithmSpec>(std::move(stop));
}

Result<ResumePolicy> parse_resume_policy(YamlReader& spec) {
  ASSIGN_OR_RETURN(auto resume, spec.string("resumePolicy"));
  const std::string rp = resume.value_or("Never");
  if (rp == "Never") return ResumePolicy::kNever;
  if (rp == "FromVolume") {
    // Katib resumes a finished experiment whose maxTrialCount was raised; here an
    // experiment is immutable, so there is nothing to resume into.
    return field_error("spec.resumePolicy",
                       "FromVolume is not supported: experiments are immutable and a finished "
                       "one is never resumed (use Never)");
  }
  return field_error("spec.resumePolicy", quote_value(rp) + " is not Never or FromVolume");
}

// Every trial parameter references a parameter; the template renders to a valid
// trial and uses every trial parameter.
Status check_trial_template(const ExperimentSpec& e) {
  for (size_t i = 0; i < e.trial_template.trial_parameters.size(); ++i) {
    const auto& tp = e.trial_template.trial_parameters[i];
    if (e.parameters.index_of(tp.reference) < 0)
      return field_error(item("spec.trialTemplate.trialParameters", i) + ".reference",
                         quote_value(tp.reference) + " is not a parameter of spec.parameters");
  }
  tuning::Assignment sample;
  for (const auto& p : e.parameters.parameters) sample.push_back(tuning::snap(p, p.min));
  ASSIGN_OR_RETURN(auto trial, render_trial(e, e.metadata.name + "-template", sample));
  // The experiment starts and stops its trials; one that waited for cadre resume
  // would hold a parallel slot for ever.
  if (trial.manifest.gang().run_policy.suspend) {
    return field_error(std::string("spec.trialTemplate.trialSpec.spec.") +
                           (e.trial_template.trial_kind == "Job" ? "suspend" : "runPolicy.suspend"),
                       "a trial cannot start suspended");
  }
  return Status::Ok();
}

}  // namespace

Result<ExperimentSpec> parse_experiment(const std::string& yaml_text,
                                        const ManifestLimits& limits) {
  ASSIGN_OR_RETURN(Manifest manifest, parse_manifest(yaml_text, limits));
  if (!manifest.experiment)
    return field_error("kind", quote_value(manifest.kind) + " is not Experiment");
  return *manifest.experiment;
}

Result<ExperimentSpec> parse_experiment_spec(YamlReader& top, ObjectMeta metadata) {
  ExperimentSpec e;
  e.metadata = std::move(metadata);
  if (e.metadata.name.size() > kMaxExperimentName)
    return field_error("metadata.name",
                       "at most 48 characters for an Experiment (its trials' jobs "
                       "are named <name>-<id>-r<k>)");
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"objective", "parameters", "algorithm", "earlyStopping",
                              "parallelTrialCount", "maxTrialCount", "maxFailedTrialCount",
                              "metricsCollectorSpec", "trialTemplate", "resumePolicy"}));
  ASSIGN_OR_RETURN(e.objective, parse_objective(*spec));
  ASSIGN_OR_RETURN(e.parameters, parse_parameters(*spec));

  ASSIGN_OR_RETURN(e.algorithm, parse_algorithm(*spec, e.parameters));
  ASSIGN_OR_RETURN(e.early_stopping, parse_early_stopping(*spec));
  ASSIGN_OR_RETURN(auto parallel, spec->integer("parallelTrialCount", 1, 1000));
  if (parallel) e.parallel_trial_count = static_cast<int32_t>(*parallel);
  ASSIGN_OR_RETURN(auto max_trials, spec->integer("maxTrialCount", 1, 100000));
  if (max_trials) e.max_trial_count = static_cast<int32_t>(*max_trials);
  ASSIGN_OR_RETURN(auto max_failed, spec->integer("maxFailedTrialCount", 0, 100000));
  if (max_failed) e.max_failed_trial_count = static_cast<int32_t>(*max_failed);
  ASSIGN_OR_RETURN(e.metrics_collector, parse_collector(*spec));
  ASSIGN_OR_RETURN(e.trial_template, parse_trial_template(*spec));
  ASSIGN_OR_RETURN(e.resume_policy, parse_resume_policy(*spec));
  RETURN_IF_ERROR(spec->reject_unknown());

  RETURN_IF_ERROR(check_trial_template(e));
  return e;
}

Result<RenderedTrial> render_trial(const ExperimentSpec& e, const std::string& trial_name,
                                   const tuning::Assignment& assignment) {
  std::map<std::string, std::string> values;
  for (const auto& tp : e.trial_template.trial_parameters) {
    const int index = e.parameters.index_of(tp.reference);
    if (index < 0 || static_cast<size_t>(index) >= assignment.size())
      return field_error("spec.trialTemplate.trialParameters",
                         "reference " + quote_value(tp.reference) + " has no value");
    values[tp.name] = tuning::format_value(e.parameters.parameters[index], assignment[index]);
  }
  YAML::Node body;
  try {
    body = YAML::Load(e.trial_template.trial_spec);
  } catch (const YAML::Exception& ex) {
    return Internal("trial template no longer parses: " + ex.msg);
  }
  std::set<std::string> used;
  ASSIGN_OR_RETURN(YAML::Node spec,
                   substitute(body, values, &used, "spec.trialTemplate.trialSpec.spec"));
  for (size_t i = 0; i < e.trial_template.trial_parameters.size(); ++i)
    if (!used.count(e.trial_template.trial_parameters[i].name))
      return field_error(item("spec.trialTemplate.trialParameters", i) + ".name",
                         quote_value(e.trial_template.trial_parameters[i].name) +
                             " is never used in spec.trialTemplate.trialSpec");
  YAML::Node manifest;
  manifest["apiVersion"] = kApiVersion;
  manifest["kind"] = e.trial_template.trial_kind;
  manifest["metadata"]["name"] = trial_name;
  manifest["metadata"]["namespace"] = e.metadata.ns;
  manifest["metadata"]["labels"]["experiment"] = e.metadata.name;
  manifest["spec"] = spec;
  YAML::Emitter out;
  out << manifest;
  RenderedTrial r;
  r.yaml = out.c_str();
  auto parsed = parse_manifest(r.yaml);
  if (!parsed.ok())
    return field_error(
        "spec.trialTemplate.trialSpec",
        "renders to an invalid " + e.trial_template.trial_kind + ": " + parsed.status().message());
  r.manifest = std::move(parsed).value();
  return r;
}

}  // namespace cadre::spec

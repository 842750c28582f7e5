// The `Experiment` kind, shaped like Katib's v1beta1 Experiment: an objective, the
// parameters to search, the algorithm and early stopping, trial counts, how
// metrics are collected, and a trial template — a Job or TrainJob spec with
// ${trialParameters.NAME} placeholders in its strings. docs/specs.md documents
// every field. The experiment supervisor (actors/experiment_state_machine.h)
// runs it; parse_manifest returns it for kind Experiment.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/spec/job_spec.h"
#include "protocol/spec/manifest.h"
#include "protocol/status.h"
#include "tuning/search_space.h"
#include "tuning/suggester.h"
#include "tuning/trial_history.h"

namespace cadre::spec {

// Which value of a metric's series counts (Katib's metricStrategies).
enum class MetricStrategy { kMin, kMax, kLatest };

struct ObjectiveSpec {
  tuning::Goal type = tuning::Goal::kMaximize;
  std::optional<double> goal;  // reached: the experiment ends GoalReached
  std::string objective_metric_name;
  std::vector<std::string> additional_metric_names;
  // Every metric above has one; default: the objective's direction.
  std::map<std::string, MetricStrategy> metric_strategies;
};

struct AlgorithmSpec {
  std::string name;
  tuning::Settings settings;
};

enum class CollectorKind { kStdOut, kFile, kPush };

struct MetricsCollectorSpec {
  CollectorKind kind = CollectorKind::kStdOut;
  // Regexes with two groups (name, value), each applied to every line; default
  // kDefaultMetricsFormat.
  std::vector<std::string> metrics_format;
  std::string file_path;  // kFile: relative to the trial's working folder
};

struct TrialParameterSpec {
  std::string name;         // used as ${trialParameters.NAME}
  std::string description;  // free text
  std::string reference;    // a parameter of spec.parameters
};

struct TrialTemplateSpec {
  std::vector<TrialParameterSpec> trial_parameters;
  std::string trial_kind;  // Job or TrainJob
  std::string trial_spec;  // the kind's `spec`, as YAML, placeholders unresolved
  bool retain = false;     // keep finished trials' jobs
};

enum class ResumePolicy { kNever, kFromVolume };

struct ExperimentSpec {
  ObjectMeta metadata;
  ObjectiveSpec objective;
  tuning::SearchSpace parameters;
  AlgorithmSpec algorithm;
  std::optional<AlgorithmSpec> early_stopping;  // medianstop
  int32_t parallel_trial_count = 3;
  std::optional<int32_t> max_trial_count;
  std::optional<int32_t> max_failed_trial_count;
  MetricsCollectorSpec metrics_collector;
  TrialTemplateSpec trial_template;
  ResumePolicy resume_policy = ResumePolicy::kNever;
};

// Katib's default metricsFormat, `([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`,
// so a program written for Katib ("Epoch[3] Validation-accuracy=0.91") works
// unchanged; extended to take nan and inf as values, which Katib's reads as an
// empty number, so a diverged trial ends InvalidMetric instead of waiting.
inline constexpr const char* kDefaultMetricsFormat =
    R"(([\w|-]+)\s*=\s*([+-]?(?:[Nn]a[Nn]|[Ii]nf(?:inity)?)\b|[+-]?\d*(?:\.\d+)?(?:[Ee][+-]?\d+)?))";

// Parses an Experiment manifest (apiVersion cadre/v1, kind Experiment) within
// `limits`. Besides every field, it checks that the algorithm and its settings
// exist, that every placeholder in the template names a trial parameter and every
// trial parameter is used and references a parameter, and that the template
// renders to a valid Job or TrainJob.
Result<ExperimentSpec> parse_experiment(const std::string& yaml_text,
                                        const ManifestLimits& limits = {});

// The trial's manifest: the template with each ${trialParameters.NAME} replaced by
// the assignment's value, named `trial_name`, in the experiment's namespace,
// labelled experiment=<name>. Returns the manifest parsed, and its YAML text.
struct RenderedTrial {
  std::string yaml;
  Manifest manifest;
};
Result<RenderedTrial> render_trial(const ExperimentSpec& experiment, const std::string& trial_name,
                                   const tuning::Assignment& assignment);

}  // namespace cadre::spec

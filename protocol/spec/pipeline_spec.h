// The `Pipeline` kind: a Kubeflow Pipelines v2 pipeline spec (the KFP compiler's
// "IR" YAML: components, deploymentSpec.executors, root.dag, pipelineInfo,
// schemaVersion 2.1.0), applied as the compiler writes it or inside a cadre/v1
// wrapper (kind: Pipeline, metadata.name, spec.pipelineSpec). docs/pipelines.md
// says which of KFP's fields Cadre runs; every other field is refused with its path.
//
// The model keeps KFP's names. Parameter values (defaults, constants, literal loop
// items) are JSON values typed by their parameterType, as KFP's struct_pb Value.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "protocol/spec/job_spec.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/status.h"

namespace cadre::spec {

// Bounds on a pipeline spec beyond the manifest's own (manifest_limits.h).
inline constexpr size_t kMaxPipelineTasks = 10000;  // tasks in all DAGs together
inline constexpr size_t kMaxPipelineDagDepth = 16;  // nested sub-DAGs
inline constexpr int32_t kMaxTaskRetries = 100;     // retryPolicy.maxRetryCount

// KFP's ParameterType.ParameterTypeEnum.
enum class ParameterType { kString, kInteger, kDouble, kBoolean, kList, kStruct };
const char* parameter_type_name(ParameterType type);  // "STRING", "NUMBER_INTEGER", ...

struct ParameterDefinition {
  ParameterType type = ParameterType::kString;
  std::optional<nlohmann::json> default_value;  // defaultValue
  bool optional = false;                        // isOptional
};

struct ArtifactDefinition {
  std::string schema_title;  // artifactType.schemaTitle ("system.Model", "system.Metrics")
  bool is_list = false;      // isArtifactList
};

// A component's inputDefinitions or outputDefinitions.
struct ComponentInterface {
  std::map<std::string, ParameterDefinition> parameters;
  std::map<std::string, ArtifactDefinition> artifacts;
};

// Where a task input parameter's value comes from (exactly one of KFP's fields).
struct ParameterSource {
  enum class Kind { kComponentInput, kTaskOutput, kConstant };
  Kind kind = Kind::kConstant;
  std::string name;           // componentInputParameter, or taskOutputParameter.outputParameterKey
  std::string producer_task;  // taskOutputParameter.producerTask
  nlohmann::json constant;    // runtimeValue.constant
  std::string selector;       // parameterExpressionSelector (CEL over string_value)
};

struct ArtifactSource {
  enum class Kind { kComponentInput, kTaskOutput };
  Kind kind = Kind::kTaskOutput;
  std::string name;           // componentInputArtifact, or taskOutputArtifact.outputArtifactKey
  std::string producer_task;  // taskOutputArtifact.producerTask
};

// retryPolicy: attempt k (0-based) waits backoffDuration * backoffFactor^k, at most
// backoffMaxDuration.
struct RetryPolicy {
  int32_t max_retries = 0;
  double backoff_seconds = 0;
  double backoff_factor = 2;
  double max_backoff_seconds = 3600;
};

enum class TriggerStrategy { kAllUpstreamSucceeded, kAllUpstreamCompleted };

// parameterIterator: a ParallelFor over a literal list or a list input parameter.
struct ParameterIterator {
  std::string item_input;                   // the component input that gets each item
  std::optional<nlohmann::json> raw_items;  // items.raw, parsed
  std::string input_parameter;              // items.inputParameter
};

struct PipelineTask {
  std::string name;       // its key in dag.tasks
  std::string component;  // componentRef.name
  std::vector<std::string> dependent_tasks;
  std::map<std::string, ParameterSource> parameters;  // inputs.parameters
  std::map<std::string, ArtifactSource> artifacts;    // inputs.artifacts
  std::string condition;                              // triggerPolicy.condition (CEL)
  TriggerStrategy strategy = TriggerStrategy::kAllUpstreamSucceeded;
  std::optional<ParameterIterator> iterator;
  int32_t parallelism_limit = 0;  // iteratorPolicy.parallelismLimit; 0: all at once
  RetryPolicy retry;
  bool enable_cache = false;  // cachingOptions.enableCache (absent: false, as in KFP's proto)
  std::string display_name;   // taskInfo.name
};

// dag.outputs: which subtask's output becomes the DAG's (a loop's are collected).
struct DagOutputParameter {
  std::string producer_subtask;
  std::string output_key;
};
struct DagOutputArtifact {
  std::string producer_subtask;
  std::string output_key;
};

struct Dag {
  std::map<std::string, PipelineTask> tasks;
  std::map<std::string, DagOutputParameter> output_parameters;
  std::map<std::string, DagOutputArtifact> output_artifacts;
  // Task names in an order where every task comes after the tasks it depends on
  // (dependentTasks and producers), ties broken by name.
  std::vector<std::string> order;
};

struct Component {
  std::string name;
  ComponentInterface inputs;
  ComponentInterface outputs;
  std::string executor;            // executorLabel; empty for a DAG component
  std::shared_ptr<const Dag> dag;  // set for a DAG component
};

// A container executor, run as a command on the agent's host; the image is kept
// for display and never pulled.
struct ContainerExecutor {
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
  ResourceRequest resources;  // cpuLimit/cpuRequest, memoryLimit/memoryRequest, accelerator.count
  // kfp-kubernetes' activeDeadlineSeconds (kubernetes.set_timeout): the step's job
  // fails with DeadlineExceeded after this long; 0: no deadline.
  int64_t active_deadline_seconds = 0;
};

// Cadre's extension (docs/pipelines.md): an executor that runs as a Cadre workload
// instead of one command, `cadre: {kind, metadata, spec}`. The spec is the kind's
// own, with KFP placeholders in any of its strings, substituted at launch.
struct WorkloadExecutor {
  std::string kind;  // Job, TrainJob, Experiment or InferenceService
  std::string name;  // metadata.name: the InferenceService a step deploys (placeholders allowed)
  std::string spec_yaml;  // spec, as written
};

// deploymentSpec.executors.<label>: exactly one of the two.
struct Executor {
  std::optional<ContainerExecutor> container;
  std::optional<WorkloadExecutor> workload;
};

struct PipelineSpec {
  std::string name;            // pipelineInfo.name (a DNS label after Cadre's check)
  std::string description;     // pipelineInfo.description
  std::string schema_version;  // "2.1.0" or "2.0.0"
  std::string sdk_version;
  std::map<std::string, Component> components;
  std::map<std::string, Executor> executors;
  Component root;  // its dag is the pipeline's; its inputs are the run's parameters
};

// The `PipelineRun` kind: one run of a stored pipeline (cadre run pipeline/NAME
// writes one). metadata.name is the run's name.
struct PipelineRunSpec {
  std::string pipeline;            // spec.pipelineRef.name
  std::optional<int32_t> version;  // spec.pipelineRef.version; the latest when absent
  // spec.parameters: scalars as their text, lists and maps as JSON; typed against
  // the pipeline's inputDefinitions when the run is created.
  std::map<std::string, std::string> parameters;
  std::string experiment = "Default";  // spec.experiment: the group runs are listed under
  bool enable_caching = true;          // spec.enableCaching (cadre run --no-cache)
};

// The `RecurringRun` kind (KFP's recurring run): runs of a stored pipeline started
// on a schedule. Trigger times are UTC.
struct RecurringRunSpec {
  PipelineRunSpec run;           // pipelineRef, parameters, experiment, enableCaching
  std::string cron;              // spec.trigger.cronSchedule.cron (pipelines/cron_schedule.h)
  int64_t interval_seconds = 0;  // or spec.trigger.periodicSchedule.intervalSecond
  int64_t start_ms = 0;          // trigger's startTime (RFC 3339); 0: from when it is applied
  int64_t end_ms = 0;            // trigger's endTime; 0: never ends
  int32_t max_concurrency = 1;   // spec.maxConcurrency: runs of it at once (1..10, as KFP)
  bool no_catchup = false;  // spec.noCatchup: after a pause or an outage, run once, not per miss
  bool enabled = true;      // spec.mode: ENABLE | DISABLE
};

// Its names leave room for "-<yyyymmddhhmmss>" in the runs' names.
inline constexpr size_t kMaxRecurringRunNameLength = 35;

// Parses kind: RecurringRun's spec.
Result<RecurringRunSpec> parse_recurring_run_spec(YamlReader& top);
// A PipelineRun's fields in `spec` (used by both kinds; unknown fields are the
// caller's to refuse).
Result<PipelineRunSpec> parse_run_fields(YamlReader& spec);
// RFC 3339 ("2026-11-29T02:00:00Z", "...+01:00") as Unix ms, or why not.
Result<int64_t> parse_rfc3339_ms(const std::string& text);

// Run names leave room for "-<n>" in their jobs' names (DNS labels of 63).
inline constexpr size_t kMaxRunNameLength = 50;

// Parses kind: PipelineRun's spec.
Result<PipelineRunSpec> parse_pipeline_run_spec(YamlReader& top);

// Parses a KFP pipeline spec (the compiler's top-level map) and checks it: every
// reference resolves, DAGs have no cycle, conditions are in the CEL subset.
// `path` prefixes every error ("" for a bare spec, "spec.pipelineSpec" in a wrapper).
Result<PipelineSpec> parse_pipeline_spec(const YAML::Node& node, const std::string& path);

// Whether a YAML document is a bare KFP spec (no apiVersion, a pipelineInfo).
bool is_kfp_pipeline_spec(const YAML::Node& node);

// Converts a YAML value to the JSON value of a parameter of `type` ("spec.x: ...").
Result<nlohmann::json> parameter_value(const YAML::Node& node, ParameterType type,
                                       const std::string& path);
// Checks and converts a run parameter given as text (cadre run -p name=value):
// numbers parse as numbers, LIST and STRUCT as JSON.
Result<nlohmann::json> parse_parameter_text(const std::string& text, ParameterType type,
                                            const std::string& name);
// Whether `value` is a value of `type`.
bool parameter_has_type(const nlohmann::json& value, ParameterType type);

}  // namespace cadre::spec

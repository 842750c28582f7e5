// A parsed manifest of any supported kind, and the one entry point that parses it.
// docs/specs.md documents every kind and field.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "protocol/spec/job_spec.h"
#include "protocol/spec/manifest_limits.h"
#include "protocol/spec/train_job_spec.h"
#include "protocol/status.h"

namespace cadre::spec {

struct ExperimentSpec;        // protocol/spec/experiment_spec.h
struct InferenceServiceSpec;  // protocol/spec/inference_service_spec.h
struct PipelineSpec;          // protocol/spec/pipeline_spec.h
struct PipelineRunSpec;       // protocol/spec/pipeline_spec.h
struct RecurringRunSpec;      // protocol/spec/pipeline_spec.h
struct NotebookSpec;          // protocol/spec/notebook_spec.h

// A parsed and validated manifest. Exactly one of the kind's specs is set.
struct Manifest {
  std::string
      kind;  // "Job", "TrainJob", "Experiment", "InferenceService", "Pipeline", "PipelineRun"
  ObjectMeta metadata;
  std::optional<JobSpec> job;                                     // set when kind == "Job"
  std::optional<TrainJobSpec> train_job;                          // set when kind == "TrainJob"
  std::shared_ptr<const ExperimentSpec> experiment;               // set when kind == "Experiment"
  std::shared_ptr<const InferenceServiceSpec> inference_service;  // kind == "InferenceService"
  std::shared_ptr<const PipelineSpec> pipeline;                   // kind == "Pipeline"
  std::shared_ptr<const PipelineRunSpec> pipeline_run;            // kind == "PipelineRun"
  std::shared_ptr<const RecurringRunSpec> recurring_run;          // kind == "RecurringRun"
  std::shared_ptr<const NotebookSpec> notebook;                   // kind == "Notebook"

  // What a job supervisor runs: the TrainJob itself, or a Job as a one-replica gang.
  TrainJobSpec gang() const;
};

// Parses one YAML document within `limits` (checked before anything is read).
// Errors name the field path: "spec.template.command: required". Nothing is
// defaulted silently except the documented defaults; a second document is refused,
// not ignored. A bare Kubeflow Pipelines v2 spec (as the KFP compiler writes it,
// without apiVersion) parses as a Pipeline named by its pipelineInfo.name.
Result<Manifest> parse_manifest(const std::string& yaml_text, const ManifestLimits& limits = {});

// Whether two manifests of a Job or TrainJob, both accepted by parse_manifest,
// say the same but for spec.suspend (a Job's) or spec.runPolicy.suspend (a
// TrainJob's) — and for layout, comments, key order and aliases. Suspend is the one
// field applying a job again may change, as in Kubernetes and Kubeflow.
bool differ_only_in_suspend(const std::string& before, const std::string& after);

}  // namespace cadre::spec

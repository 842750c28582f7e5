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

// A parsed and validated manifest. Exactly one of the kind's specs is set.
struct Manifest {
  std::string kind;  // "Job", "TrainJob", "Experiment" or "InferenceService"
  ObjectMeta metadata;
  std::optional<JobSpec> job;                                     // set when kind == "Job"
  std::optional<TrainJobSpec> train_job;                          // set when kind == "TrainJob"
  std::shared_ptr<const ExperimentSpec> experiment;               // set when kind == "Experiment"
  std::shared_ptr<const InferenceServiceSpec> inference_service;  // kind == "InferenceService"

  // What a job supervisor runs: the TrainJob itself, or a Job as a one-replica gang.
  TrainJobSpec gang() const;
};

// Parses one YAML document within `limits` (checked before anything is read).
// Errors name the field path: "spec.template.command: required". Nothing is
// defaulted silently except the documented defaults; a second document is refused,
// not ignored.
Result<Manifest> parse_manifest(const std::string& yaml_text, const ManifestLimits& limits = {});

}  // namespace cadre::spec

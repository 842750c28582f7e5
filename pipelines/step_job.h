// How a pipeline task names the workload its step runs, in its record's `job`: a
// Job or TrainJob by its own name, an InferenceService as
// "inferenceservice/<name>", an Experiment as "experiment/<name>". The driver
// writes these; the run's supervisor routes by them (a service or an experiment is
// applied and then watched, not created as a job).
#pragma once

#include <string>

namespace cadre::pipelines {

inline constexpr const char* kServiceJobPrefix = "inferenceservice/";
inline constexpr const char* kExperimentJobPrefix = "experiment/";

inline bool is_service_job(const std::string& job) { return job.rfind(kServiceJobPrefix, 0) == 0; }
inline bool is_experiment_job(const std::string& job) {
  return job.rfind(kExperimentJobPrefix, 0) == 0;
}

// "inferenceservice/x" and "experiment/x" -> "x"; a job's own name as it is.
inline std::string workload_name_of(const std::string& job) {
  if (is_service_job(job)) return job.substr(std::string(kServiceJobPrefix).size());
  if (is_experiment_job(job)) return job.substr(std::string(kExperimentJobPrefix).size());
  return job;
}

}  // namespace cadre::pipelines

// deploymentSpec.executors of a KFP pipeline spec: container executors as KFP
// writes them, and Cadre's workload executors (`cadre:`). Used by
// pipeline_spec.cc only; the types are in pipeline_spec.h.
#pragma once

#include <map>
#include <string>

#include <yaml-cpp/yaml.h>

#include "protocol/spec/pipeline_spec.h"
#include "protocol/status.h"

namespace cadre::spec {

// One executor (`path` is deploymentSpec.executors.<label>).
Result<Executor> parse_executor(const YAML::Node& node, const std::string& path);

// `platforms` (the KFP compiler's second document, kfp-kubernetes settings): of
// platforms.kubernetes.deploymentSpec.executors.<label>, only activeDeadlineSeconds
// (a container step's timeout) is run; anything else is refused with its path.
Status parse_platforms(YamlReader& top, std::map<std::string, Executor>& executors);

// Checks an executor against the component that runs it: every placeholder names
// something the component declares, and a workload's spec, with sample values for
// its placeholders, is a valid spec of its kind (so a typo fails at apply time,
// with its path, rather than mid-run).
Status check_executor(const Executor& executor, const Component& component,
                      const std::string& path);

}  // namespace cadre::spec

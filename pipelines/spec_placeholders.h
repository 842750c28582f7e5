// KFP placeholders inside a Cadre workload executor's spec (the `cadre:` executor
// extension, docs/pipelines.md): the same {{$...}} references a container's
// command and args take, in any string of a Job, TrainJob or InferenceService spec.
// A string in a list expands as a container argument does (Concat, and IfPresent,
// which may add or drop items); any other string must stay exactly one string.
// Keys are never substituted: the spec's shape is fixed when it is applied.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pipelines/placeholders.h"
#include "protocol/status.h"

namespace cadre::pipelines {

// Every placeholder reference in the tree, with the path of the string that
// holds it (`path` prefixes each), or the first string that is not a placeholder
// KFP defines.
Result<std::vector<std::pair<std::string, PlaceholderRef>>> scan_spec_placeholders(
    const YAML::Node& spec, const std::string& path);

// A copy of `spec` with every placeholder substituted.
Result<YAML::Node> substitute_spec_placeholders(const YAML::Node& spec,
                                                const ExecutorContext& context,
                                                const std::string& path);

}  // namespace cadre::pipelines

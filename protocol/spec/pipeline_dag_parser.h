// The DAGs of a KFP pipeline spec: root.dag and the dag of every component a task
// calls — tasks with their inputs, triggers, iterators and retries, the references
// between tasks, their order, and each DAG's outputs. Used by pipeline_spec.cc
// only; the types are in pipeline_spec.h.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <yaml-cpp/yaml.h>

#include "protocol/spec/pipeline_spec.h"
#include "protocol/status.h"

namespace cadre::spec {

// A component as pass 1 reads it: its interface and executor, its DAG still YAML.
// DAGs are read in pass 2 (parse_dags), once every component they may call is known.
struct RawComponent {
  Component component;
  bool has_dag = false;
  YAML::Node dag;  // when has_dag
  std::string path;
};

// Reads `root`'s DAG (at `path`) and, through its tasks, the DAG of every component
// they call, setting each component's dag; DAGs nest at most kMaxPipelineDagDepth
// deep (a component that calls itself is refused that way) and hold at most
// kMaxPipelineTasks tasks together. Errors name the field path.
Result<std::shared_ptr<const Dag>> parse_dags(std::map<std::string, RawComponent>& components,
                                              const std::map<std::string, Executor>& executors,
                                              const RawComponent& root, const std::string& path);

// "a.b" and "c" -> "a.b.c": the path of a field, for errors.
std::string pipeline_field(const std::string& path, const std::string& key);

// Names become folder names and job-name parts: KFP's compiler writes [a-z0-9-]
// ("comp-print-op-2", "pipelinechannel--text"); this allows a little more.
bool is_usable_pipeline_name(const std::string& name);

}  // namespace cadre::spec

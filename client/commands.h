// The request/response commands: apply, get, describe, delete, keys. Each writes
// its result to `out` and returns a Status whose message main prints as
// "error: <message>".
#pragma once

#include <ostream>
#include <string>

#include "client/coordinator.h"
#include "client/resource_ref.h"

namespace cadre::client {

enum class OutputFormat { kTable, kWide, kJson };

Result<OutputFormat> parse_output_format(const std::string& value);

// Sends each document of FILE ("-": stdin) in order; prints `kind/name action`
// per document and stops at the first one the coordinator refuses.
Status apply_manifests(Coordinator& coordinator, const std::string& file, std::ostream& out);

// Lists nodes, jobs, trainjobs, experiments or trials, or shows one by name (with
// -o json: one object, not a list). Trials come from their experiments; `selector`
// ("experiment=NAME", from -l) picks one experiment's.
Status get_resources(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                     std::ostream& out, const std::string& selector = "");

// "experiment=NAME" -> NAME; "" -> "". Anything else is an error naming it.
Result<std::string> experiment_selector(const std::string& selector);

// The describe page of one job, trainjob or experiment.
Status describe_resource(Coordinator& coordinator, const ResourceRef& ref, std::ostream& out);

// Deletes one job or trainjob; prints `job/NAME deleted` or `trainjob/NAME deleted`.
// `purge` (notebooks only): the notebook's workspace folder is removed too.
Status delete_resource(Coordinator& coordinator, const ResourceRef& ref, std::ostream& out,
                       bool purge = false);

// Deletes what each document of FILE names (kind + metadata.name).
Status delete_manifests(Coordinator& coordinator, const std::string& file, std::ostream& out);

// Writes PREFIX.key (0600) and PREFIX.pub; refuses to overwrite unless `force`.
// `node`, when not empty, binds the key to that node name (an agent key).
Status generate_keys(const std::string& prefix, bool force, const std::string& node,
                     std::ostream& out);

}  // namespace cadre::client

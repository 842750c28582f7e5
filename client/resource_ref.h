// How users name things on the command line: `job/NAME`, `trainjob NAME`, `jobs`,
// `--replica worker-1` and kubectl's `--for=condition=Succeeded`.
#pragma once

#include <string>
#include <vector>

#include "protocol/states.h"
#include "protocol/status.h"

namespace cadre::client {

// A resource type as the coordinator knows it, with the names users type for it.
struct ResourceType {
  std::string resource;  // wire name in Get/Delete/Logs requests: "jobs", "trainjobs", "nodes"
  std::string singular;  // used in output: "job/hello", "trainjob/mnist", "node/local-1"
};

// Accepts the singular, the plural and short forms, case-insensitively:
// job|jobs, trainjob|trainjobs|tj, node|nodes|no, experiment|experiments|exp,
// trial|trials (trials are listed from their experiments), notebook|notebooks|nb.
Result<ResourceType> parse_resource_type(const std::string& word);

struct ResourceRef {
  ResourceType type;
  std::string name;  // empty: all of that type
  std::string display() const { return type.singular + "/" + name; }
};

// Parses `job/NAME` (one argument) or `job NAME` (two) or `jobs` (one, no name).
Result<ResourceRef> parse_resource_ref(const std::vector<std::string>& args);

// The resources that run replicas: what logs, wait, describe and delete work on.
inline const std::vector<std::string> kJobResources = {"jobs", "trainjobs"};

// Like parse_resource_ref but a name is required and the type must be one of `accepted`.
Result<ResourceRef> parse_named_ref(const std::vector<std::string>& args,
                                    const std::vector<std::string>& accepted);

// A replica name as the coordinator reports it: the type in lower case, '-', the
// index without leading zeros ("worker-1", "ps-0"). The error names the value.
Status check_replica_name(const std::string& name);

// `value` without a leading `condition=` (any case), as kubectl's --for writes it.
std::string strip_condition_prefix(const std::string& value);

// The phases a job can be waited for; the condition is matched case-insensitively
// and returned in its canonical spelling. Accepts `Succeeded`, `condition=Succeeded`,
// and kubectl's `condition=Complete` for Succeeded.
Result<protocol::JobPhase> parse_wait_condition(const std::string& value);

// "Job" -> "job", for `job/NAME created`.
std::string lowercase(std::string text);

}  // namespace cadre::client

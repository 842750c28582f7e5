#include "client/resource_ref.h"

#include <algorithm>
#include <cctype>

namespace cadre::client {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Result<ResourceType> parse_resource_type(const std::string& word) {
  const std::string w = lowercase(word);
  if (w == "job" || w == "jobs") return ResourceType{"jobs", "job"};
  if (w == "trainjob" || w == "trainjobs" || w == "tj") {
    return ResourceType{"trainjobs", "trainjob"};
  }
  if (w == "node" || w == "nodes" || w == "no") return ResourceType{"nodes", "node"};
  if (w == "queue" || w == "queues") return ResourceType{"queues", "queue"};
  if (w == "experiment" || w == "experiments" || w == "exp") {
    return ResourceType{"experiments", "experiment"};
  }
  if (w == "trial" || w == "trials") return ResourceType{"trials", "trial"};
  if (w == "inferenceservice" || w == "inferenceservices" || w == "isvc") {
    return ResourceType{"inferenceservices", "inferenceservice"};
  }
  if (w == "token" || w == "tokens") return ResourceType{"tokens", "token"};
  if (w == "pipeline" || w == "pipelines" || w == "pl") {
    return ResourceType{"pipelines", "pipeline"};
  }
  if (w == "run" || w == "runs" || w == "pipelinerun" || w == "pipelineruns") {
    return ResourceType{"runs", "run"};
  }
  if (w == "recurringrun" || w == "recurringruns" || w == "rr") {
    return ResourceType{"recurringruns", "recurringrun"};
  }
  if (w == "notebook" || w == "notebooks" || w == "nb")
    return ResourceType{"notebooks", "notebook"};
  return InvalidArgument("unknown resource type '" + word +
                         "' (known: jobs, trainjobs, nodes, queues, experiments, trials, "
                         "inferenceservices, tokens, pipelines, runs, recurringruns, notebooks)");
}

Result<ResourceRef> parse_resource_ref(const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2) {
    return InvalidArgument("expected TYPE/NAME, TYPE NAME or TYPE");
  }
  std::string type_word = args[0];
  std::string name;
  const auto slash = args[0].find('/');
  if (slash != std::string::npos) {
    if (args.size() == 2) {
      return InvalidArgument("'" + args[0] + "' already names the resource; unexpected '" +
                             args[1] + "'");
    }
    type_word = args[0].substr(0, slash);
    name = args[0].substr(slash + 1);
    if (name.empty()) return InvalidArgument("'" + args[0] + "': the name after '/' is empty");
  } else if (args.size() == 2) {
    name = args[1];
  }
  ASSIGN_OR_RETURN(ResourceType type, parse_resource_type(type_word));
  return ResourceRef{type, name};
}

Result<ResourceRef> parse_named_ref(const std::vector<std::string>& args,
                                    const std::vector<std::string>& accepted) {
  ASSIGN_OR_RETURN(ResourceRef ref, parse_resource_ref(args));
  if (std::find(accepted.begin(), accepted.end(), ref.type.resource) == accepted.end()) {
    std::string known;
    for (size_t i = 0; i < accepted.size(); ++i) {
      known += (i == 0 ? "" : i + 1 == accepted.size() ? " or " : ", ") + accepted[i];
    }
    return InvalidArgument("this command works on " + known + ", not " + ref.type.resource);
  }
  if (ref.name.empty()) {
    return InvalidArgument("a name is required, e.g. " + ref.type.singular + "/NAME");
  }
  return ref;
}

Status check_replica_name(const std::string& name) {
  // Checked here rather than left to the coordinator so that a typo such as
  // "Worker-1" or "worker1" is a usage error with the expected shape, not a NotFound.
  const size_t dash = name.rfind('-');
  const bool type_ok = dash != std::string::npos && dash > 0 &&
                       std::all_of(name.begin(), name.begin() + dash,
                                   [](unsigned char c) { return c >= 'a' && c <= 'z'; });
  const std::string index = dash == std::string::npos ? "" : name.substr(dash + 1);
  const bool index_ok =
      !index.empty() && (index == "0" || index[0] != '0') &&
      std::all_of(index.begin(), index.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
  if (type_ok && index_ok) return Status::Ok();
  return InvalidArgument("--replica '" + name +
                         "': expected <type>-<index> in lower case, e.g. worker-1 or ps-0");
}

std::string strip_condition_prefix(const std::string& value) {
  const std::string prefix = "condition=";
  return lowercase(value).rfind(prefix, 0) == 0 ? value.substr(prefix.size()) : value;
}

Result<protocol::JobPhase> parse_wait_condition(const std::string& value) {
  const std::string c = lowercase(strip_condition_prefix(value));
  if (c == "complete") return protocol::JobPhase::kSucceeded;  // kubectl's name for it
  for (const auto& [phase, name] : protocol::EnumNames<protocol::JobPhase>::kTable) {
    if (c == lowercase(std::string(name))) return phase;
  }
  return InvalidArgument("--for '" + value +
                         "': expected Succeeded, Failed, Running, Restarting, Queued or Suspended "
                         "(optionally as condition=NAME)");
}

}  // namespace cadre::client

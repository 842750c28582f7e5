#include "client/commands.h"

#include <algorithm>
#include <filesystem>

#include "client/experiment_output.h"
#include "client/json_output.h"
#include "client/manifest.h"
#include "client/notebook_output.h"
#include "client/pipeline_output.h"
#include "client/recurring_run_output.h"
#include "client/service_output.h"
#include "client/table_output.h"
#include "client/time_format.h"
#include "pipelines/json_text.h"
#include "protocol/curve_keys.h"
#include "protocol/spec/yaml_reader.h"

namespace cadre::client {
namespace {

bool runs_replicas(const ResourceRef& ref) {
  return std::find(kJobResources.begin(), kJobResources.end(), ref.type.resource) !=
         kJobResources.end();
}

// The experiment a trial belongs to: its name without the trailing "-<id>".
Result<std::string> experiment_of_trial(const std::string& trial) {
  const auto dash = trial.rfind('-');
  const bool numbered = dash != std::string::npos && dash > 0 && dash + 1 < trial.size() &&
                        trial.find_first_not_of("0123456789", dash + 1) == std::string::npos;
  if (!numbered) {
    return InvalidArgument("'" + trial +
                           "' is not a trial name (trials are <experiment>-<id>); an "
                           "experiment's trials: cadre get trials -l experiment=" +
                           trial);
  }
  return trial.substr(0, dash);
}

Status get_experiments(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                       std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"experiments", ref.name}));
  if (format == OutputFormat::kJson) {
    nlohmann::json json = ref.name.empty() ? experiments_to_json(reply.experiments)
                                           : experiment_to_json(reply.experiments.at(0), true);
    out << json.dump(2) << "\n";
    return Status::Ok();
  }
  if (reply.experiments.empty()) {
    out << "No experiments found.\n";
    return Status::Ok();
  }
  out << experiments_table(reply.experiments, now_unix_ms(), format == OutputFormat::kWide);
  return Status::Ok();
}

// Trials live in their experiments: one experiment's (by label or by a trial's
// name), or every experiment's.
Status get_trials(Coordinator& coordinator, const ResourceRef& ref, const std::string& experiment,
                  OutputFormat format, std::ostream& out) {
  std::vector<std::string> names;
  if (!experiment.empty()) {
    names.push_back(experiment);
  } else if (!ref.name.empty()) {
    ASSIGN_OR_RETURN(std::string owner, experiment_of_trial(ref.name));
    names.push_back(owner);
  } else {
    ASSIGN_OR_RETURN(protocol::GetReply all,
                     coordinator.get(protocol::GetRequest{"experiments", ""}));
    for (const auto& e : all.experiments) names.push_back(e.name);
  }
  std::vector<protocol::ExperimentStatus> experiments;
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"experiments", name}));
    for (auto& e : reply.experiments) {
      if (!ref.name.empty()) {
        auto& trials = e.trials;
        trials.erase(std::remove_if(trials.begin(), trials.end(),
                                    [&](const auto& t) { return t.name != ref.name; }),
                     trials.end());
        if (trials.empty()) return NotFound("trial/" + ref.name + " not found");
      }
      experiments.push_back(std::move(e));
    }
  }
  if (format == OutputFormat::kJson) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& e : experiments)
      for (const auto& t : e.trials) items.push_back(trial_to_json(e.name, t));
    out << (ref.name.empty() ? items : items.at(0)).dump(2) << "\n";
    return Status::Ok();
  }
  size_t count = 0;
  for (const auto& e : experiments) count += e.trials.size();
  if (count == 0) {
    out << "No trials found.\n";
    return Status::Ok();
  }
  out << trials_table(experiments, format == OutputFormat::kWide);
  return Status::Ok();
}

Status get_services(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                    std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"inferenceservices", ref.name}));
  if (format == OutputFormat::kJson) {
    nlohmann::json json = ref.name.empty() ? services_to_json(reply.services)
                                           : service_to_json(reply.services.at(0), true);
    out << json.dump(2) << "\n";
    return Status::Ok();
  }
  if (reply.services.empty()) {
    out << "No inferenceservices found.\n";
    return Status::Ok();
  }
  out << services_table(reply.services, now_unix_ms(), format == OutputFormat::kWide);
  return Status::Ok();
}

Status get_tokens(Coordinator& coordinator, OutputFormat format, std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply, coordinator.get(protocol::GetRequest{"tokens", ""}));
  if (format == OutputFormat::kJson) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& t : reply.tokens) {
      items.push_back({{"id", t.id},
                       {"namespace", t.ns},
                       {"description", t.description},
                       {"createdAt", rfc3339(t.created_ms)}});
    }
    out << items.dump(2) << "\n";
    return Status::Ok();
  }
  if (reply.tokens.empty()) {
    out << "No tokens found.\n";
    return Status::Ok();
  }
  out << tokens_table(reply.tokens, now_unix_ms());
  return Status::Ok();
}

Status get_pipelines(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                     std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"pipelines", ref.name}));
  if (format == OutputFormat::kJson) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& p : reply.pipelines) items.push_back(pipeline_to_json(p, !ref.name.empty()));
    out << pipelines::json_text(ref.name.empty() ? items : items.at(0), 2) << "\n";
    return Status::Ok();
  }
  if (reply.pipelines.empty()) {
    out << "No pipelines found.\n";
    return Status::Ok();
  }
  out << pipelines_table(reply.pipelines, now_unix_ms());
  return Status::Ok();
}

Status get_recurring_runs(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                          std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"recurringruns", ref.name}));
  if (format == OutputFormat::kJson) {
    nlohmann::json json = nlohmann::json::array();
    for (const auto& r : reply.recurring_runs) json.push_back(recurring_run_to_json(r));
    out << pipelines::json_text(ref.name.empty() ? json : json.at(0), 2) << "\n";
    return Status::Ok();
  }
  if (reply.recurring_runs.empty()) {
    out << "No recurring runs found.\n";
    return Status::Ok();
  }
  out << recurring_runs_table(reply.recurring_runs, now_unix_ms());
  return Status::Ok();
}

Status get_notebooks(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                     std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"notebooks", ref.name}));
  if (!ref.name.empty() && reply.notebooks.empty()) return NotFound(ref.display() + " not found");
  if (format == OutputFormat::kJson) {
    nlohmann::json json = nlohmann::json::array();
    for (const auto& n : reply.notebooks) json.push_back(notebook_to_json(n));
    out << (ref.name.empty() ? json : json.at(0)).dump(2) << "\n";
    return Status::Ok();
  }
  if (reply.notebooks.empty()) {
    out << "No notebooks found.\n";
    return Status::Ok();
  }
  out << notebooks_table(reply.notebooks, now_unix_ms());
  return Status::Ok();
}

Status get_runs(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"runs", ref.name}));
  if (format == OutputFormat::kJson) {
    nlohmann::json json =
        ref.name.empty() ? runs_to_json(reply.runs) : run_to_json(reply.runs.at(0), true);
    out << pipelines::json_text(json, 2) << "\n";
    return Status::Ok();
  }
  if (reply.runs.empty()) {
    out << "No runs found.\n";
    return Status::Ok();
  }
  out << runs_table(reply.runs, now_unix_ms(), format == OutputFormat::kWide);
  return Status::Ok();
}

}  // namespace

Result<std::string> experiment_selector(const std::string& selector) {
  if (selector.empty()) return std::string();
  const std::string key = "experiment=";
  if (selector.compare(0, key.size(), key) != 0 || selector.size() == key.size()) {
    return InvalidArgument("-l " + selector + ": expected experiment=NAME");
  }
  return selector.substr(key.size());
}

Result<OutputFormat> parse_output_format(const std::string& value) {
  if (value.empty()) return OutputFormat::kTable;
  if (value == "wide") return OutputFormat::kWide;
  if (value == "json") return OutputFormat::kJson;
  return InvalidArgument("-o " + value + ": expected json or wide");
}

Status apply_manifests(Coordinator& coordinator, const std::string& file, std::ostream& out) {
  ASSIGN_OR_RETURN(std::string text, read_manifest_source(file));
  const std::vector<std::string> documents = split_documents(text);
  if (documents.empty()) return InvalidArgument(file + ": no YAML documents to apply");
  for (size_t i = 0; i < documents.size(); ++i) {
    auto reply = coordinator.apply(protocol::ApplyRequest{documents[i]});
    if (!reply.ok()) {
      if (documents.size() == 1) return reply.status();
      return reply.status().annotate(file + " document " + std::to_string(i + 1));
    }
    out << lowercase(reply->kind) << "/" << reply->name << " "
        << (reply->action.empty() ? "created" : reply->action) << "\n";
  }
  return Status::Ok();
}

Status get_resources(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                     std::ostream& out, const std::string& selector) {
  ASSIGN_OR_RETURN(const std::string experiment, experiment_selector(selector));
  if (ref.type.resource == "trials") return get_trials(coordinator, ref, experiment, format, out);
  if (!experiment.empty()) return InvalidArgument("-l experiment=NAME selects trials only");
  if (ref.type.resource == "experiments") return get_experiments(coordinator, ref, format, out);
  if (ref.type.resource == "inferenceservices") return get_services(coordinator, ref, format, out);
  if (ref.type.resource == "tokens") return get_tokens(coordinator, format, out);
  if (ref.type.resource == "pipelines") return get_pipelines(coordinator, ref, format, out);
  if (ref.type.resource == "runs") return get_runs(coordinator, ref, format, out);
  if (ref.type.resource == "recurringruns") {
    return get_recurring_runs(coordinator, ref, format, out);
  }
  if (ref.type.resource == "notebooks") return get_notebooks(coordinator, ref, format, out);
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{ref.type.resource, ref.name}));
  const bool single = !ref.name.empty();
  const bool nodes = ref.type.resource == "nodes";
  const size_t count = nodes ? reply.nodes.size() : reply.jobs.size();
  if (single && count == 0) return NotFound(ref.display() + " not found");
  if (format == OutputFormat::kJson) {
    nlohmann::json json;
    if (nodes)
      json = single ? node_to_json(reply.nodes[0]) : nodes_to_json(reply.nodes);
    else
      json = single ? job_to_json(reply.jobs[0], false) : jobs_to_json(reply.jobs);
    out << json.dump(2) << "\n";
    return Status::Ok();
  }
  if (count == 0) {
    out << "No " << ref.type.resource << " found.\n";
    return Status::Ok();
  }
  const bool wide = format == OutputFormat::kWide;
  if (nodes) {
    out << nodes_table(reply.nodes, now_unix_ms(), wide);
  } else if (ref.type.resource == "trainjobs") {
    out << trainjobs_table(reply.jobs, now_unix_ms(), wide);
  } else {
    out << jobs_table(reply.jobs, now_unix_ms(), wide);
  }
  return Status::Ok();
}

Status describe_resource(Coordinator& coordinator, const ResourceRef& ref, std::ostream& out) {
  const auto& r = ref.type.resource;
  if (!runs_replicas(ref) && r != "experiments" && r != "inferenceservices" && r != "pipelines" &&
      r != "runs" && r != "recurringruns" && r != "notebooks") {
    return InvalidArgument(
        "describe supports jobs, trainjobs, experiments, inferenceservices, pipelines, runs, "
        "recurringruns and notebooks");
  }
  if (ref.name.empty()) {
    return InvalidArgument("describe needs a name: describe " + ref.type.singular + " NAME");
  }
  if (ref.type.resource == "inferenceservices") {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"inferenceservices", ref.name}));
    if (reply.services.empty()) return NotFound(ref.display() + " not found");
    out << describe_service(reply.services[0], now_unix_ms());
    return Status::Ok();
  }
  if (r == "pipelines") {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"pipelines", ref.name}));
    if (reply.pipelines.empty()) return NotFound(ref.display() + " not found");
    out << describe_pipeline(reply.pipelines[0], now_unix_ms());
    return Status::Ok();
  }
  if (r == "runs") {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"runs", ref.name}));
    if (reply.runs.empty()) return NotFound(ref.display() + " not found");
    out << describe_run(reply.runs[0], now_unix_ms());
    return Status::Ok();
  }
  if (r == "recurringruns") {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"recurringruns", ref.name}));
    if (reply.recurring_runs.empty()) return NotFound(ref.display() + " not found");
    out << describe_recurring_run(reply.recurring_runs[0], now_unix_ms());
    return Status::Ok();
  }
  if (r == "notebooks") {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"notebooks", ref.name}));
    if (reply.notebooks.empty()) return NotFound(ref.display() + " not found");
    out << describe_notebook(reply.notebooks[0], now_unix_ms());
    return Status::Ok();
  }
  if (ref.type.resource == "experiments") {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"experiments", ref.name}));
    if (reply.experiments.empty()) return NotFound(ref.display() + " not found");
    out << describe_experiment(reply.experiments[0], now_unix_ms());
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{ref.type.resource, ref.name}));
  if (reply.jobs.empty()) return NotFound(ref.display() + " not found");
  out << describe_job(reply.jobs[0], now_unix_ms());
  return Status::Ok();
}

Status delete_resource(Coordinator& coordinator, const ResourceRef& ref, std::ostream& out,
                       bool purge) {
  const auto& r = ref.type.resource;
  if (purge && r != "notebooks") {
    return InvalidArgument("--purge removes a notebook's workspace; " + ref.type.singular + "/" +
                           ref.name + " has none");
  }
  if (!runs_replicas(ref) && r != "nodes" && r != "experiments" && r != "inferenceservices" &&
      r != "tokens" && r != "pipelines" && r != "runs" && r != "recurringruns" &&
      r != "notebooks") {
    return InvalidArgument(
        "only jobs, trainjobs, experiments, inferenceservices, pipelines, runs, recurringruns, "
        "notebooks, tokens and nodes can be deleted");
  }
  if (ref.name.empty()) {
    return InvalidArgument("delete needs a name: delete " + ref.type.singular + "/NAME");
  }
  ASSIGN_OR_RETURN(protocol::DeleteReply reply,
                   coordinator.remove(protocol::DeleteRequest{ref.type.resource, ref.name, purge}));
  out << ref.type.singular << "/" << (reply.name.empty() ? ref.name : reply.name) << " deleted"
      << (purge ? ", its workspace removed" : "") << "\n";
  return Status::Ok();
}

Status delete_manifests(Coordinator& coordinator, const std::string& file, std::ostream& out) {
  ASSIGN_OR_RETURN(std::string text, read_manifest_source(file));
  const std::vector<std::string> documents = split_documents(text);
  if (documents.empty()) return InvalidArgument(file + ": no YAML documents");
  for (size_t i = 0; i < documents.size(); ++i) {
    ASSIGN_OR_RETURN(ManifestIdentity identity, manifest_identity(documents[i], i));
    ASSIGN_OR_RETURN(ResourceType type, parse_resource_type(identity.kind));
    RETURN_IF_ERROR(delete_resource(coordinator, ResourceRef{type, identity.name}, out));
  }
  return Status::Ok();
}

Status generate_keys(const std::string& prefix, bool force, const std::string& node,
                     std::ostream& out) {
  if (!node.empty() && !spec::is_dns_label(node)) {
    return InvalidArgument("--node: " + spec::quote_value(node) +
                           " is not a node name (a DNS label: lower-case letters, digits, '-')");
  }
  std::error_code ec;
  if (!force && (std::filesystem::exists(prefix + ".key", ec) ||
                 std::filesystem::exists(prefix + ".pub", ec))) {
    return AlreadyExists(prefix + ".key or " + prefix +
                         ".pub exists; pass --force to replace the key pair");
  }
  ASSIGN_OR_RETURN(protocol::KeyPair pair, protocol::generate_keypair());
  RETURN_IF_ERROR(protocol::write_keypair(prefix, pair, node));
  out << pair.public_key << "\n";
  return Status::Ok();
}

}  // namespace cadre::client
